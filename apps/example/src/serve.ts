import { join } from 'node:path'
import { createCache, redactUrl } from '@rapide/core'
import { buildApp } from './service/app.js'
import { cacheBackend } from './service/cache-backend.js'
import { CustomerStore } from './service/customer-store.js'

/**
 * Starts the customer service (`pnpm demo`). Environment:
 * - `RAPIDE_URL`: the cache's backend by URL (`sqlite:///…`, `disk:///…`, `redis://…`); else
 * - `REDIS_URL`: cache on Redis; else `CACHE_DIR`: on the disk backend in that directory; else on the
 *   embedded SQLite file;
 * - `PORT` (default 3000), `HOST` (default 127.0.0.1);
 * - `DATA_FILE`: the customers database (default `node_modules/.cache/rapide-example/customers.sqlite`);
 * - `CACHE_FILE`: the SQLite cache file, when not on Redis;
 * - `READ_DELAY_MS`: how slow a database read is (default 50);
 * - `CACHE_SIGNING_KEY`: signs every cached entry (HMAC-SHA256, at least 32 bytes; see "Signed values").
 */
const env = process.env
const store = new CustomerStore(
  env.DATA_FILE ?? join('node_modules', '.cache', 'rapide-example', 'customers.sqlite'),
  Number(env.READ_DELAY_MS ?? 50),
)
const seeded = store.seed(100)
const options = {
  domainKey: 'CUSTOMERS',
  defaultTtl: '10m',
  ...(env.CACHE_SIGNING_KEY ? { sign: { key: env.CACHE_SIGNING_KEY } } : {}),
} as const
// With RAPIDE_URL the URL itself goes to createCache, which loads the backend package it names.
const cache = env.RAPIDE_URL
  ? createCache({ ...options, backend: env.RAPIDE_URL })
  : createCache({ ...options, backend: cacheBackend(env) })
cache.on('error', ({ operation, error }) => {
  console.warn(`cache ${operation} failed, served from the database: ${(error as Error).message}`)
})
if (seeded > 0) {
  // A fresh database: whatever an earlier one left in a persistent cache is about other data.
  await Promise.resolve(cache.clear()).catch(() => undefined)
}

const app = buildApp(store, cache)
const port = Number(env.PORT ?? 3000)
const host = env.HOST ?? '127.0.0.1'
const address = await app.listen({ port, host })
const where = env.RAPIDE_URL
  ? redactUrl(env.RAPIDE_URL)
  : env.REDIS_URL
    ? `Redis (${env.REDIS_URL.replace(/\/\/[^@]*@/, '//***@')})`
    : env.CACHE_DIR
      ? `disk (${env.CACHE_DIR})`
      : 'SQLite (embedded)'
console.log(`customer service listening on ${address}, cache on ${where}`)
console.log(`  curl ${address}/customers/1            # twice: the second answer is x-cache: HIT`)
console.log(
  `  curl -X PUT ${address}/customers/1 -H 'content-type: application/json' -d '{"name":"Annabel"}'`,
)
console.log(`  curl -X DELETE ${address}/customers`)

let closing = false
async function shutdown(): Promise<void> {
  if (closing) return
  closing = true
  await app.close()
  await cache.close()
  store.close()
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
