import { RedisBackend } from '@rapide/backend-redis'
import { SqliteBackend } from '@rapide/backend-sqlite'

/**
 * The one switch between the embedded default and Redis: `REDIS_URL` set means Redis (every instance of
 * the service shares the cache), unset means a SQLite file on this machine (`CACHE_FILE`, default
 * `node_modules/.cache/rapide/cache.sqlite`).
 */
export function cacheBackend(env: NodeJS.ProcessEnv): SqliteBackend | RedisBackend {
  if (env.REDIS_URL) return new RedisBackend({ url: env.REDIS_URL })
  return new SqliteBackend(env.CACHE_FILE ? { path: env.CACHE_FILE } : {})
}
