import { isIPv6 } from 'node:net'
import { InvalidOptionError, readUrlOptions, redactUrl, type UrlOptionSpec } from '@rapide/core'
import type { RedisUrlOptions } from './redis-backend-options.js'

/** What a Redis URL's query string may hold: the constructor options that are not code. */
const URL_OPTIONS: UrlOptionSpec = { timeout: 'duration', circuitBreaker: 'duration-or-false' }

/** Options that exist but cannot be written in a URL's query, with where they go instead. */
const NOT_IN_QUERY: Readonly<Record<string, string>> = {
  url: 'the servers are the URL itself',
  cluster: 'a cluster is named by the scheme: redis+cluster://host1:7000,host2:7001',
  client: 'an existing client is passed in code: new RedisBackend({ client })',
  onCircuitChange: 'onCircuitChange is a function: pass it to new RedisBackend({ onCircuitChange }) in code',
  db: 'the database is the path of the URL: redis://host:6379/2',
  password: 'credentials go before the host: redis://user:password@host:6379',
  username: 'credentials go before the host: redis://user:password@host:6379',
  tls: 'TLS is named by the scheme: rediss://',
}

const DEFAULT_PORT = 6379
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/

/**
 * Reads a Redis URL into the options of `new RedisBackend()`:
 *
 * - `redis://[user:password@]host[:port][/db]`, `rediss://…` for TLS;
 * - `redis+cluster://[user:password@]host1:7000,host2:7001` (the seed nodes of a Redis Cluster, which has
 *   only database 0), `rediss+cluster://…` for TLS;
 * - an IPv6 host in brackets: `redis://[::1]:6379`; no host: `127.0.0.1`; no port: 6379;
 * - user and password percent-encoded (`encodeURIComponent`);
 * - options in the query string: `timeout`, `circuitBreaker` (a duration, or `false`).
 *
 * Parsed by hand: the WHATWG parser refuses a list of hosts, and its errors quote the whole input,
 * password included. No error here shows the password.
 *
 * @example
 * redisOptionsFromUrl('redis+cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7000?timeout=1s')
 * // { url: ['redis://app:s3cret@10.0.0.1:7000', 'redis://app:s3cret@10.0.0.2:7000'], cluster: true, timeout: '1s' }
 */
export function redisOptionsFromUrl(
  url: string,
): RedisUrlOptions & { url: string | string[]; cluster: boolean } {
  if (typeof url !== 'string') {
    throw new InvalidOptionError(`RedisBackend.fromUrl: expected a URL string, got ${typeof url}`)
  }
  const text = url.trim()
  const head = /^(rediss?)(\+cluster)?:\/\//i.exec(text)
  if (head === null) {
    throw new InvalidOptionError(
      `"${hideCredentials(text)}" is not a Redis URL (expected redis://host:6379, rediss://…, redis+cluster://host1:7000,host2:7001)`,
    )
  }
  const [prefix, rawScheme, clusterSuffix] = head
  const scheme = rawScheme!.toLowerCase()
  const cluster = clusterSuffix !== undefined
  // The credentials end at the last "@": nothing after them (hosts, path, options) holds one, while a
  // password may hold any character, even unencoded, and must not be mistaken for a host or a path.
  const remainder = text.slice(prefix.length)
  const at = remainder.lastIndexOf('@')
  const userInfo = at < 0 ? undefined : remainder.slice(0, at)
  const rest = at < 0 ? remainder : remainder.slice(at + 1)
  // Secret-named query values (`?password=…`, refused below) are hidden too.
  const shown = redactUrl(`${prefix}${userInfo === undefined ? '' : `${redactUserInfo(userInfo)}@`}${rest}`)
  const where = `${scheme}${cluster ? '+cluster' : ''}: URL "${shown}"`
  const [, hostList = '', path = '', rawQuery = '', fragment] =
    /^([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/s.exec(rest)!
  if (fragment !== undefined) {
    throw new InvalidOptionError(`${where}: a Redis URL has no fragment (#…); options go in the query string`)
  }
  if (userInfo !== undefined && hostList === '') {
    throw new InvalidOptionError(
      `${where}: no host after the credentials (an "@" in the password or the options is written %40)`,
    )
  }
  const auth = userInfo === undefined ? '' : `${credentialsOf(userInfo, where)}@`
  const hosts = hostList.split(',').map((host) => hostOf(host, where, cluster))
  if (!cluster && hosts.length > 1) {
    throw new InvalidOptionError(
      `${where}: several hosts are the seed nodes of a cluster: write ${scheme}+cluster://host1:port,host2:port`,
    )
  }
  const db = databaseOf(path, where, cluster)
  const query = new URLSearchParams(rawQuery)
  for (const name of Object.keys(NOT_IN_QUERY)) {
    if (query.has(name)) throw new InvalidOptionError(`${where}: option "${name}": ${NOT_IN_QUERY[name]}`)
  }
  const options = readUrlOptions(query, URL_OPTIONS, `${scheme}${cluster ? '+cluster' : ''}: URL`)
  // One plain URL per server, as the constructor takes them; the query is left out (ioredis would read
  // unchecked options from it), the scheme lower-cased (ioredis turns TLS on for `rediss:` only as written).
  const urls = hosts.map((host) => `${scheme}://${auth}${host}${db === 0 ? '' : `/${db}`}`)
  return { ...options, url: cluster ? urls : urls[0]!, cluster }
}

/** `user:password` (either may be empty), checked to decode, and re-encoded as ioredis decodes it. */
function credentialsOf(userInfo: string, where: string): string {
  const colon = userInfo.indexOf(':')
  const parts = colon < 0 ? [userInfo] : [userInfo.slice(0, colon), userInfo.slice(colon + 1)]
  const decoded = parts.map((part) => {
    try {
      return decodeURIComponent(part)
    } catch {
      throw new InvalidOptionError(
        `${where}: the credentials have a malformed percent-escape (encode the user and password with encodeURIComponent)`,
      )
    }
  })
  if (decoded.every((part) => part === '')) {
    throw new InvalidOptionError(
      `${where}: an empty user and password before "@": remove the "@" or fill them in`,
    )
  }
  return decoded.map(encodeURIComponent).join(':')
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` → `host:port` as a URL writes it. */
function hostOf(text: string, where: string, cluster: boolean): string {
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::([^:]*))?$/.exec(text)
  if (match === null) {
    throw new InvalidOptionError(
      `${where}: "${text}" is not a host or host:port (an IPv6 address goes in brackets: [::1]:6379)`,
    )
  }
  let [, host = '', port] = match
  if (host === '') {
    if (cluster)
      throw new InvalidOptionError(`${where}: a cluster URL needs every seed host (an empty one in the list)`)
    host = '127.0.0.1'
  } else if (host.startsWith('[')) {
    if (!isIPv6(host.slice(1, -1))) throw new InvalidOptionError(`${where}: "${host}" is not an IPv6 address`)
    host = host.toLowerCase()
  } else if (!HOST_NAME.test(host)) {
    throw new InvalidOptionError(`${where}: "${host}" is not a host name`)
  }
  if (port === undefined || port === '') return `${host}:${DEFAULT_PORT}`
  const number = /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN
  if (!(number >= 1 && number <= 65_535)) {
    throw new InvalidOptionError(`${where}: port "${port}" of ${host} must be a whole number from 1 to 65535`)
  }
  return `${host}:${number}`
}

/** The path: none, `/`, or `/<db>`; a cluster has database 0 only. */
function databaseOf(path: string, where: string, cluster: boolean): number {
  if (path === '' || path === '/') return 0
  const match = /^\/(\d{1,5})$/.exec(path)
  if (match === null) {
    throw new InvalidOptionError(`${where}: the path must be a database number such as /2, got "${path}"`)
  }
  const db = Number(match[1])
  if (cluster && db !== 0) {
    throw new InvalidOptionError(
      `${where}: a Redis Cluster has only database 0 (SELECT ${db} is refused by cluster nodes); remove "/${db}"`,
    )
  }
  return db
}

/** `user:password` → `user:***`; a lone `token` (a password without a user, for some servers) → `***`. */
function redactUserInfo(userInfo: string): string {
  const colon = userInfo.indexOf(':')
  return colon < 0 ? '***' : `${userInfo.slice(0, colon)}:***`
}

/** Text that is not a Redis URL, everything up to its last "@" hidden, so no password can show. */
function hideCredentials(text: string): string {
  const at = text.lastIndexOf('@')
  if (at < 0) return text
  const scheme = /^[a-z][a-z0-9+.-]*:\/*/i.exec(text)?.[0] ?? ''
  return `${scheme}***${text.slice(at)}`
}
