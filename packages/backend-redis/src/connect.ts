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
 *
 * And they serve "at most once": a command whose connection dropped before it answered is never sent
 * again (`autoResendUnfulfilledCommands: false`, and on a cluster `retryDelayOnFailover: 0`), since
 * `INCRBY`, `SET NX` or a compare-and-delete sent twice would apply twice or report the wrong outcome.
 * The backend reports such a command as `OutcomeUnknownError` instead.
 *
 * On a cluster, `TRYAGAIN` (a multi-key command on a slot that is being migrated) is retried briefly
 * only: while a slot moves it persists, and the backend splits the command into single-key ones instead
 * of letting ioredis retry it until the time bound (which would open the circuit for every slot).
 */
export function connect(
  url: string | readonly string[],
  cluster: boolean,
  timeoutMs: number,
): Redis | Cluster {
  const urls = typeof url === 'string' ? [url] : [...url]
  if (urls.length === 0) throw new InvalidOptionError('RedisBackend: url must name at least one server')
  const parsed = urls.map(parseRedisUrl)
  const common = {
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(timeoutMs, 1000),
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
    autoResendUnfulfilledCommands: false,
  }
  if (!cluster && urls.length === 1) return new Redis(urls[0]!, common)
  return new Cluster(
    // An IPv6 host is bracketed in a URL (`[::1]`), not in a socket address.
    parsed.map((u) => ({
      host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: u.port === '' ? 6379 : Number(u.port),
    })),
    {
      clusterRetryStrategy: (times: number) => Math.min(times * 100, 1000),
      retryDelayOnFailover: 0,
      retryDelayOnTryAgain: 10,
      maxRedirections: 8,
      redisOptions: {
        ...common,
        ...credentials(parsed[0]!),
      },
    },
  )
}

/**
 * Checks and parses a `redis://` or `rediss://` URL. Errors name the URL without its credentials (an
 * error message ends up in logs; a password must not).
 */
function parseRedisUrl(url: string): URL {
  if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
    throw new InvalidOptionError(
      `RedisBackend: ${typeof url === 'string' ? JSON.stringify(redactUrl(url)) : typeof url} is not a redis:// or rediss:// URL`,
    )
  }
  try {
    return new URL(url)
  } catch {
    // Not `{ cause }`: Node's URL error carries the whole input, credentials included.
    throw new InvalidOptionError(`RedisBackend: ${JSON.stringify(redactUrl(url))} is not a valid URL`)
  }
}

/**
 * `redis://user:secret@host` → `redis://***@host`: everything up to the last `@` hidden (however
 * malformed the URL: a password may contain what a parser would not expect).
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/*)?.*@/is, '$1***@')
}

function credentials(url: URL): { username?: string; password?: string; tls?: object } {
  const out: { username?: string; password?: string; tls?: object } = {}
  if (url.username) out.username = decodeURIComponent(url.username)
  if (url.password) out.password = decodeURIComponent(url.password)
  if (url.protocol === 'rediss:') out.tls = {}
  return out
}

/**
 * Why a client given by the user could send a command twice, or `undefined` when it cannot. ioredis
 * re-sends, by default, the commands a dropped connection left unanswered (a standalone client on
 * reconnect; a cluster after `retryDelayOnFailover`, and its nodes on reconnect).
 */
export function resendingOptions(client: Redis | Cluster): string | undefined {
  if ((client as { isCluster?: boolean }).isCluster === true) {
    const options = (client as Cluster).options
    const missing: string[] = []
    if ((options.retryDelayOnFailover ?? 100) > 0) missing.push('retryDelayOnFailover: 0')
    if (options.redisOptions?.autoResendUnfulfilledCommands !== false)
      missing.push('redisOptions: { autoResendUnfulfilledCommands: false }')
    return missing.length === 0 ? undefined : `new Cluster(nodes, { ${missing.join(', ')} })`
  }
  return (client as Redis).options.autoResendUnfulfilledCommands === false
    ? undefined
    : 'new Redis(url, { autoResendUnfulfilledCommands: false })'
}

/** The store a URL names: scheme, host, port and database, never credentials. */
export function storeIdOfUrls(urls: readonly string[], cluster: boolean): string {
  const parsed = urls.map((u) => new URL(u))
  if (!cluster && parsed.length === 1) {
    const u = parsed[0]!
    const db = Number.parseInt(u.pathname.slice(1) || '0', 10) || 0
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}/${db}`
  }
  return clusterId(parsed.map((u) => `${u.hostname}:${u.port || '6379'}`))
}

/** The store a client the user built talks to (from its options), its `keyPrefix` included. */
export function storeIdOfClient(client: Redis | Cluster): string {
  let id: string
  if ((client as { isCluster?: boolean }).isCluster === true) {
    const nodes = (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? []
    id = clusterId(nodes.map(nodeAddress))
  } else {
    const o = (client as Redis).options
    const db = o.db ?? 0
    if (o.sentinels) {
      id = `redis-sentinel://${o.name ?? ''}@${o.sentinels.map(nodeAddress).sort().join(',')}/${db}`
    } else if (o.path) id = `redis+unix://${o.path}/${db}`
    else id = `${o.tls ? 'rediss:' : 'redis:'}//${o.host ?? '127.0.0.1'}:${o.port ?? 6379}/${db}`
  }
  const prefix = (client.options as { keyPrefix?: string }).keyPrefix
  return prefix ? `${id}#keyPrefix=${encodeURIComponent(prefix)}` : id
}

function clusterId(addresses: string[]): string {
  return `redis-cluster://${[...new Set(addresses)].sort().join(',')}`
}

function nodeAddress(node: unknown): string {
  if (typeof node === 'number') return `127.0.0.1:${node}`
  if (typeof node === 'string') {
    if (/^rediss?:\/\//i.test(node)) {
      try {
        const u = new URL(node)
        return `${u.hostname}:${u.port || '6379'}`
      } catch {
        return redactUrl(node)
      }
    }
    return node.includes(':') ? node : `${node}:6379`
  }
  const o = (node ?? {}) as { host?: string; port?: number }
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`
}
