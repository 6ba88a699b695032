import { DiskBackend } from '@rapide/backend-disk'
import { RedisBackend } from '@rapide/backend-redis'
import { SqliteBackend } from '@rapide/backend-sqlite'
import type { AnyBackend } from '@rapide/core'

/**
 * The switch between the backends when `RAPIDE_URL` does not name one: `REDIS_URL` set means Redis (every
 * instance of the service shares the cache); else `CACHE_DIR` set means a directory of files on this machine (the disk backend); else a
 * SQLite file on this machine (`CACHE_FILE`, default `node_modules/.cache/rapide/cache.sqlite`).
 */
export function cacheBackend(env: NodeJS.ProcessEnv): AnyBackend {
  if (env.REDIS_URL) return new RedisBackend({ url: env.REDIS_URL })
  if (env.CACHE_DIR) return new DiskBackend({ directory: env.CACHE_DIR })
  return new SqliteBackend(env.CACHE_FILE ? { path: env.CACHE_FILE } : {})
}
