import { InvalidOptionError } from '@rapide/core'
import { Cluster, Redis } from 'ioredis'

/** The server used when neither `url` nor `REDIS_URL` names one. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/**
 * Builds the client for `url` (a `redis://` or `rediss://` URL; several URLs, or `cluster: true`, make a
 * cluster client seeded with them).
 *
 * The options serve the time bound: commands sent before the first connection wait in the offline queue
 * (bounded by the backend's timeout); once connected, the backend itself refuses to send while the
 * client reconnects, so the queue never grows during an outage. Reconnection retries at most every
 * second, so the cache comes back within about a second of Redis.
 */
export function connect(
  url: string | readonly string[],
  cluster: boolean,
  timeoutMs: number,
): Redis | Cluster {
  const urls = typeof url === 'string' ? [url] : [...url]
  if (urls.length === 0) throw new InvalidOptionError('RedisBackend: url must name at least one server')
  for (const u of urls) {
    if (!/^rediss?:\/\//.test(u)) {
      throw new InvalidOptionError(`RedisBackend: ${JSON.stringify(u)} is not a redis:// or rediss:// URL`)
    }
  }
  const common = {
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(timeoutMs, 1000),
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  }
  if (!cluster && urls.length === 1) return new Redis(urls[0]!, common)
  return new Cluster(
    urls.map((u) => {
      const parsed = new URL(u)
      return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port) }
    }),
    {
      clusterRetryStrategy: (times: number) => Math.min(times * 100, 1000),
      redisOptions: {
        ...common,
        ...credentials(new URL(urls[0]!)),
      },
    },
  )
}

function credentials(url: URL): { username?: string; password?: string; tls?: object } {
  const out: { username?: string; password?: string; tls?: object } = {}
  if (url.username) out.username = decodeURIComponent(url.username)
  if (url.password) out.password = decodeURIComponent(url.password)
  if (url.protocol === 'rediss:') out.tls = {}
  return out
}
