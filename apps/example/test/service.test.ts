import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, RedisServer, redisBinariesAvailable } from '@rapide/backend-redis/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { startService } from './support/processes.js'

/**
 * End to end: the built service (`dist/serve.js`, what `pnpm demo` runs) in its own process on a free
 * loopback port, driven over HTTP: on the embedded SQLite cache, on a real Redis, and with a REDIS_URL
 * that points nowhere.
 */
const folder = mkdtempSync(join(tmpdir(), 'rapide-example-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

interface Read {
  status: number
  cache: string | null
  body: { customer: { id: number; name: string } | null; cache: string; ms: number }
}

async function read(base: string, id: number): Promise<Read> {
  const response = await fetch(`${base}/customers/${id}`)
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    body: (await response.json()) as Read['body'],
  }
}

async function send(
  base: string,
  method: string,
  path: string,
  body?: object,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  return { status: response.status, body: await response.json() }
}

/** The seed's scenario over HTTP: cached reads, an update that invalidates one result, delete-all. */
async function scenario(base: string): Promise<void> {
  const first = await read(base, 1)
  expect(first.status).toBe(200)
  expect(first.cache).toBe('MISS')
  expect(first.body.customer?.name).toBe('Anna 1')
  const second = await read(base, 1)
  expect(second.cache).toBe('HIT')
  expect(second.body.customer).toEqual(first.body.customer)
  // The read is slow on purpose (READ_DELAY_MS=40); a hit skips it.
  expect(first.body.ms).toBeGreaterThanOrEqual(35)
  expect(second.body.ms).toBeLessThan(first.body.ms)
  expect((await read(base, 2)).cache).toBe('MISS')

  expect((await send(base, 'PUT', '/customers/1', { name: 'Annabel' })).status).toBe(200)
  const renamed = await read(base, 1)
  expect(renamed.cache).toBe('MISS')
  expect(renamed.body.customer?.name).toBe('Annabel')
  expect((await read(base, 1)).cache).toBe('HIT')
  // Only customer 1 was invalidated.
  expect((await read(base, 2)).cache).toBe('HIT')

  expect((await send(base, 'DELETE', '/customers')).body).toMatchObject({ deleted: 100 })
  for (const id of [1, 2]) {
    const gone = await read(base, id)
    expect(gone.status).toBe(404)
    expect(gone.cache).toBe('MISS')
  }
  expect((await read(base, 1)).cache).toBe('HIT') // "not found" is cached too…
  const created = await send(base, 'POST', '/customers', { name: 'Zoe', email: 'zoe@example.com' })
  expect(created.status).toBe(201)
  const id = (created.body as { created: number }).created
  const fresh = await read(base, id)
  expect(fresh.status).toBe(200) // …and invalidated when the customer appears
  expect(fresh.body.customer?.name).toBe('Zoe')

  expect((await send(base, 'PUT', '/customers/abc', { name: 'x' })).status).toBe(400)
  expect((await send(base, 'PUT', '/customers/5', {})).status).toBe(400)
  // One customer, one spelling: other spellings of a number are refused, not cached under another key.
  for (const spelling of ['0x1', '1e1', '+1', '1.0', '01', '%201']) {
    const refused = await send(base, 'GET', `/customers/${spelling}`)
    expect(refused.status, spelling).toBe(400)
    expect((refused.body as { error: string }).error).toMatch(/customer id must be a decimal integer/)
  }

  // Concurrent reads of one cold customer: one reads the database, the others wait for it (JOINED).
  const together = await Promise.all(Array.from({ length: 4 }, () => read(base, 4)))
  expect(together.map((r) => r.cache).sort()).toEqual(['JOINED', 'JOINED', 'JOINED', 'MISS'])
  expect((await read(base, 4)).cache).toBe('HIT')
}

const redis = await redisBinariesAvailable()
if (!redis && process.env.CI) {
  throw new Error('redis-server is missing: under CI the Redis example test may not be skipped')
}
if (!redis) console.warn('\n!! redis-server not found: SKIPPING the example service test on Redis\n')

describe('the customer service', () => {
  it('on the disk backend, by setting CACHE_DIR', async () => {
    const service = await startService({
      DATA_FILE: join(folder, 'disk-data.sqlite'),
      CACHE_DIR: join(folder, 'disk-cache'),
      READ_DELAY_MS: '40',
    })
    try {
      expect(service.output()).toContain('cache on disk')
      await scenario(service.url)
      expect((await send(service.url, 'GET', '/health')).body).toEqual({ cache: 'disk', answers: true })
    } finally {
      await service.stop()
    }
  })

  it('on the embedded SQLite cache (no set-up)', async () => {
    const service = await startService({
      DATA_FILE: join(folder, 'sqlite-data.sqlite'),
      CACHE_FILE: join(folder, 'sqlite-cache.sqlite'),
      READ_DELAY_MS: '40',
    })
    try {
      expect(service.output()).toContain('cache on SQLite')
      await scenario(service.url)
      expect((await send(service.url, 'GET', '/health')).body).toEqual({ cache: 'sqlite', answers: true })
    } finally {
      await service.stop()
    }
  })

  it.each([
    ['a SQLite file', (dir: string) => `sqlite://${join(dir, 'url-cache.sqlite')}`, 'sqlite'],
    ['a disk directory', (dir: string) => `disk://${join(dir, 'url-cache')}`, 'disk'],
  ])(
    'on %s named by RAPIDE_URL, with signed entries and statistics at /stats',
    async (_name, url, backend) => {
      const service = await startService({
        RAPIDE_URL: url(folder),
        CACHE_SIGNING_KEY: 'an example signing key of more than 32 bytes',
        DATA_FILE: join(folder, `${backend}-url-data.sqlite`),
        READ_DELAY_MS: '40',
      })
      try {
        expect(service.output()).toContain(`cache on ${url(folder)}`)
        await scenario(service.url)
        expect((await send(service.url, 'GET', '/health')).body).toMatchObject({
          cache: backend,
          answers: true,
        })
        const stats = (await send(service.url, 'GET', '/stats')).body as {
          functions: Record<string, { hits: number; misses: number; invalidations: number }>
        }
        // The scenario's reads: 5 HIT; 6 MISS plus 3 JOINED (a joined call is a miss without a computation);
        // a rename and a creation (one result each) and a delete-all (the function): 3 invalidations.
        expect(stats.functions.GET_CUSTOMER).toMatchObject({
          hits: 5,
          misses: 10,
          computations: 7,
          invalidations: 3,
          failures: 0,
          errors: 0,
        })
      } finally {
        await service.stop()
      }
    },
  )

  it.skipIf(!redis)('on Redis, by setting REDIS_URL', async () => {
    const server = await RedisServer.start()
    const service = await startService({
      REDIS_URL: server.url,
      DATA_FILE: join(folder, 'redis-data.sqlite'),
      READ_DELAY_MS: '40',
    })
    try {
      expect(service.output()).toContain('cache on Redis')
      await scenario(service.url)
      const health = (await send(service.url, 'GET', '/health')).body
      expect(health).toMatchObject({
        cache: 'redis',
        answers: true,
        redis: { connection: 'ready', circuit: 'closed' },
      })
    } finally {
      await service.stop()
      await server.stop()
    }
  })

  it('with a REDIS_URL where nothing listens: every request is still answered, from the database, quickly', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`
    const service = await startService({
      REDIS_URL: nowhere,
      DATA_FILE: join(folder, 'down-data.sqlite'),
      READ_DELAY_MS: '40',
    })
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        const answer = await read(service.url, 3)
        expect(answer.status).toBe(200)
        expect(answer.body.customer?.name).toBe('Chidi 3')
        expect(answer.cache).toBe('MISS')
        expect(performance.now() - started).toBeLessThan(1000)
      }
      // The write happens; the answer says the cache could not be told.
      const update = await send(service.url, 'PUT', '/customers/3', { name: 'Chidi' })
      expect(update.status).toBe(200)
      expect(update.body).toMatchObject({ updated: 3, invalidated: false })
      expect((update.body as { warning: string }).warning).toMatch(/cache invalidation failed/)
      expect((await read(service.url, 3)).body.customer?.name).toBe('Chidi')
      const health = (await send(service.url, 'GET', '/health')).body
      expect(health).toMatchObject({ cache: 'redis', answers: false })
      expect(service.output()).toContain('served from the database')
    } finally {
      await service.stop()
    }
  })
})
