import { AsyncLocalStorage } from 'node:async_hooks'
import type { DiskBackend } from '@rapide/backend-disk'
import type { RedisBackend } from '@rapide/backend-redis'
import type { SqliteBackend } from '@rapide/backend-sqlite'
import type { AnyBackend, Cache } from '@rapide/core'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { CustomerStore } from './customer-store.js'

type Backend = SqliteBackend | RedisBackend | DiskBackend

/**
 * Where a read's answer came from: `HIT` the cache answered it; `MISS` this request ran the slow read
 * itself; `JOINED` another request was already running that read and this one waited for its result
 * (single-flight): no database work of its own, but not a cache hit either (it took as long as a miss).
 */
export type CacheSource = 'HIT' | 'MISS' | 'JOINED'

/**
 * What the current request saw. The cache tells `hit` through its event, in the caller's async context;
 * the wrapped function tells `computed` by running. A caller that joined another's computation sees
 * neither: the cache emits no event for it and its own function never runs.
 */
const request = new AsyncLocalStorage<{ computed: boolean; hit: boolean }>()

/** The largest customer id the service accepts (ids are SQLite integer keys, kept exact in a double). */
const MAX_ID = Number.MAX_SAFE_INTEGER

/**
 * The customer service: the seed's read / update / delete-all, over HTTP.
 *
 * - `GET /customers/:id` reads through the cache. The answer says where it came from (`x-cache: HIT`,
 *   `MISS` or `JOINED`, see {@link CacheSource}) and how long it took (`server-timing`, and `ms` in the
 *   body). Ids are canonical decimal numbers (`42`; not `042`, `+42`, `4.2e1`, `0x2a` or ` 42`): anything
 *   else is a 400 with a JSON error, so one customer is never cached under several spellings.
 * - `PUT /customers/:id` renames a customer and invalidates exactly that result.
 * - `POST /customers` creates one (and invalidates its id, whose absence may have been cached).
 * - `DELETE /customers` deletes every customer and invalidates every result of the read.
 * - `GET /health` says which backend serves the cache and whether it answers.
 * - `GET /stats` answers the cache's statistics (`cache.stats()`): hits, misses, hit ratio, compute time.
 */
export function buildApp(store: CustomerStore, cache: Cache<AnyBackend>): FastifyInstance {
  const functionKey = 'GET_CUSTOMER'
  const getCustomer = cache.wrap(functionKey, async (id: number) => {
    const context = request.getStore()
    if (context) context.computed = true
    return store.find(id)
  })
  const stopListening = cache.on('hit', (event) => {
    const context = request.getStore()
    if (context && event.functionKey === functionKey) context.hit = true
  })

  const app = Fastify({ logger: false })
  app.addHook('onClose', async () => stopListening())

  app.get('/', async () => ({
    service: 'rapide example: customers',
    cache: cache.backend.name,
    routes: [
      'GET /customers/:id',
      'PUT /customers/:id {"name"}',
      'POST /customers {"name","email"}',
      'DELETE /customers',
      'GET /health',
      'GET /stats',
    ],
  }))

  app.get<{ Params: { id: string } }>('/customers/:id', async (req, reply) => {
    const id = customerId(req.params.id)
    if (id === undefined) return badId(req.params.id, reply)
    const context = { computed: false, hit: false }
    const started = performance.now()
    const customer = await request.run(context, () => getCustomer(id))
    const ms = performance.now() - started
    const source: CacheSource = context.computed ? 'MISS' : context.hit ? 'HIT' : 'JOINED'
    reply.header('x-cache', source)
    reply.header('server-timing', `cache;desc="${source.toLowerCase()}";dur=${ms.toFixed(2)}`)
    if (customer === undefined) reply.code(404)
    return { customer: customer ?? null, cache: source.toLowerCase(), ms: Number(ms.toFixed(2)) }
  })

  app.put<{ Params: { id: string }; Body: { name?: unknown } }>('/customers/:id', async (req, reply) => {
    const id = customerId(req.params.id)
    if (id === undefined) return badId(req.params.id, reply)
    const name = req.body?.name
    if (typeof name !== 'string' || name.trim() === '') {
      reply.code(400)
      return { error: 'body must be {"name": "<non-empty string>"}' }
    }
    if (!store.rename(id, name.trim())) {
      reply.code(404)
      return { error: `no customer ${id}` }
    }
    return {
      updated: id,
      ...(await invalidated(() => getCustomer.invalidate(id), `GET_CUSTOMER(${id})`, reply)),
    }
  })

  app.post<{ Body: { name?: unknown; email?: unknown } }>('/customers', async (req, reply) => {
    const { name, email } = req.body ?? {}
    if (typeof name !== 'string' || typeof email !== 'string' || name.trim() === '' || email.trim() === '') {
      reply.code(400)
      return { error: 'body must be {"name": "...", "email": "..."}' }
    }
    const id = store.create(name.trim(), email.trim())
    reply.code(201)
    // A read of this id before it existed may have cached "not found".
    return {
      created: id,
      ...(await invalidated(() => getCustomer.invalidate(id), `GET_CUSTOMER(${id})`, reply)),
    }
  })

  app.delete('/customers', async (_req, reply) => {
    const deleted = store.deleteAll()
    return {
      deleted,
      ...(await invalidated(() => getCustomer.invalidateAll(), 'GET_CUSTOMER (every result)', reply)),
    }
  })

  app.get('/stats', async () => cache.stats())

  app.get('/health', async () => {
    const backend = cache.backend as Backend
    const answers = await Promise.resolve(cache.ping()).catch(() => false)
    return {
      cache: backend.name,
      answers,
      ...('status' in backend ? { redis: backend.status } : {}),
    }
  })

  return app
}

/**
 * Runs an invalidation after a write. The write has happened either way; if the cache could not be told
 * (it is down), the answer says so instead of failing the request: reads go to the database while the
 * cache is down, and what it held before expires by its TTL.
 */
async function invalidated(
  invalidate: () => Promise<void> | void,
  what: string,
  reply: FastifyReply,
): Promise<{ invalidated: string } | { invalidated: false; warning: string }> {
  try {
    await invalidate()
    return { invalidated: what }
  } catch (error) {
    reply.header('warning', '199 - "cache invalidation failed"')
    return { invalidated: false, warning: `cache invalidation failed: ${(error as Error).message}` }
  }
}

/**
 * The customer id in a path, or `undefined` unless it is written canonically: `Number()` alone would
 * also take `0x1`, `1e1`, `+1`, `1.0` and ` 1`, each a different cache key for the same customer.
 */
export function customerId(raw: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) return undefined
  const id = Number(raw)
  return id <= MAX_ID ? id : undefined
}

function badId(raw: string, reply: FastifyReply): { error: string } {
  reply.code(400)
  return {
    error: `the customer id must be a decimal integer from 1 to ${MAX_ID}, written without sign, leading zeros, spaces, decimals or exponent; got ${JSON.stringify(raw)}`,
  }
}
