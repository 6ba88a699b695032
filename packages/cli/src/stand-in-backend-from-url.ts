// STAND-IN, to delete once every backend package has its static `fromUrl` (core's `backendFromUrl` loads
// the package and calls it; until then it reports the package "too old to open URLs"). Opens the four
// built-in schemes directly, without query-string options.
import { DiskBackend } from '@rapide/backend-disk'
import { MemoryBackend } from '@rapide/backend-memory'
import { RedisBackend } from '@rapide/backend-redis'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { type AnyBackend, BackendUnavailableError, backendFromUrl } from '@rapide/core'

export function standInBackendFromUrl(url: string): AnyBackend {
  try {
    return backendFromUrl(url, { resolveFrom: import.meta.url })
  } catch (error) {
    if (!(error instanceof BackendUnavailableError) || !error.message.includes('fromUrl is missing'))
      throw error
  }
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase()
  const path = decodeURIComponent(url.replace(/^[a-z+]+:\/\//i, '').replace(/\?.*$/, ''))
  switch (scheme) {
    case 'mem':
      return new MemoryBackend()
    case 'disk':
      return new DiskBackend({ directory: path })
    case 'sqlite':
      return new SqliteBackend({ path })
    case 'redis+cluster':
    case 'rediss+cluster':
      return new RedisBackend({
        url: path.split(',').map((host) => `${scheme.replace('+cluster', '')}://${host}`),
        cluster: true,
      })
    default:
      return new RedisBackend({ url })
  }
}
