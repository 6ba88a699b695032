import type { Ttl } from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import type { CircuitState } from './circuit-breaker.js'

/** Options shared by both ways of building a `RedisBackend`. */
export interface RedisBackendCommonOptions {
  /**
   * The most any operation may take, seconds or a duration string (`'500ms'`). A call never waits longer
   * on a dead or unreachable Redis: the operation fails with `BackendTimeoutError` and the cache's
   * `onError` policy applies. Default `'500ms'`.
   */
  timeout?: Ttl
  /**
   * After a failure to reach Redis, refuse operations at once (`BackendUnavailableError`) for this long,
   * then let one through as a trial; `false` to disable. Default `'1s'`.
   */
  circuitBreaker?: Ttl | false
  /**
   * Called when the circuit breaker opens, half-opens or closes; `cause` is the failure that opened it.
   * A callback that throws (or returns a rejected promise) is reported as a `RapideCallbackWarning`
   * process warning; it never breaks the backend.
   */
  onCircuitChange?: (state: CircuitState, cause: unknown) => unknown
}

/** Connect by URL: the backend owns the client and closes it on `close()`. */
export interface RedisUrlOptions extends RedisBackendCommonOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. Several URLs seed a cluster client.
   * Default: the `REDIS_URL` environment variable, else `redis://127.0.0.1:6379`.
   */
  url?: string | readonly string[]
  /** Connect to a Redis Cluster seeded by `url`. Default: `true` when `url` lists several servers. */
  cluster?: boolean
  client?: never
}

/** Use an existing ioredis client: the backend never closes it. */
export interface RedisClientOptions extends RedisBackendCommonOptions {
  /**
   * An ioredis `Redis` or `Cluster`. Its `keyPrefix` option is honoured, listings and cluster slots
   * included. It must not re-send commands a dropped connection left unanswered (an `incr` would apply
   * twice): build it with `autoResendUnfulfilledCommands: false`, a `Cluster` with
   * `retryDelayOnFailover: 0, redisOptions: { autoResendUnfulfilledCommands: false }`; another is
   * refused with `InvalidOptionError`.
   *
   * @example
   * new RedisBackend({ client: new Redis(url, { autoResendUnfulfilledCommands: false }) })
   */
  client: Redis | Cluster
  url?: never
  cluster?: never
}

/** Options of `RedisBackend`. */
export type RedisBackendOptions = RedisUrlOptions | RedisClientOptions

/** Every option of the constructor (anything else is a typo or a feature that does not exist). */
export const OPTION_NAMES = ['url', 'cluster', 'client', 'timeout', 'circuitBreaker', 'onCircuitChange']
