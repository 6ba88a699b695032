import type { ComputationLockOption } from './coordination/computation-lock.js'
import type { EarlyRefreshOption, FailSafeOption, NeverDieOption } from './freshness/freshness-policy.js'
import type { ArgumentKeyOptions } from './keys/key-options.js'
import type { HitLimitOption } from './strategies/hit-limit.js'
import type { RateLimitOption } from './strategies/rate-limit.js'
import type { CacheWhenSlowOption } from './strategies/slow-calls.js'
import type { Ttl } from './ttl.js'

/** Options of `cache.wrap`. */
export interface WrapOptions<Args extends readonly unknown[]> extends ArgumentKeyOptions<Args> {
  /** Time to live of this function's results; defaults to the cache's `defaultTtl`. */
  ttl?: Ttl
  /** A version in the key: bump it when the function's results change shape, and old entries are ignored. */
  version?: string | number
  /**
   * Cross-process single-flight for cold keys: of all the processes that miss the same key at once, the
   * one that takes a lock computes, and the others wait for its result (looking at the cache every 10 to
   * 200 ms) instead of computing it too. `ttl` (default `'10s'`) bounds how long a crashed holder can
   * keep the lock; after `wait` (default: `ttl`) a waiter computes anyway. Best effort, like every cache
   * lock. Ignored where the store is not shared (in-process single-flight already covers it); refused on
   * a store without `setNx`/`deleteIfEquals`. On a synchronous shared store (SQLite, disk) a synchronous
   * call cannot wait without blocking: it takes the lock if free, else answers the result `failSafe`
   * keeps, else computes too.
   *
   * @example
   * const report = cache.wrap('REPORT', buildReport, { ttl: '1h', lock: { ttl: '30s' } })
   */
  lock?: ComputationLockOption
  /**
   * Stale-while-revalidate: for this long past its `ttl`, a result still answers calls at once while one
   * refresh runs in the background (one per call key in this process). Needs a `ttl`.
   *
   * @example
   * const rates = cache.wrap('RATES', fetchRates, { ttl: '1m', staleWhileRevalidate: '10m' })
   */
  staleWhileRevalidate?: Ttl
  /**
   * Fail-safe: when computing fails, answer the last good result if it is at most `grace` past its `ttl`
   * (a duration, or `{ grace, on }` where `on` lists the error classes, or is a predicate, it covers).
   * A result made obsolete by an invalidation is never used. Each such answer emits a `stale` event
   * carrying the error. Needs a `ttl`.
   *
   * @example
   * const profile = cache.wrap('PROFILE', loadProfile, { ttl: '5m', failSafe: { grace: '1d', on: [FetchError] } })
   */
  failSafe?: Ttl | FailSafeOption
  /**
   * Soft timeout: when computing takes longer than this and `failSafe` keeps a result past its ttl, answer
   * it; the computation goes on and stores its result. Needs `failSafe`. Applies to functions that return
   * promises (a synchronous computation cannot be left running).
   *
   * @example
   * cache.wrap('SEARCH', search, { ttl: '1m', failSafe: '1h', softTimeout: '200ms' })
   */
  softTimeout?: Ttl
  /**
   * Early refresh by probability (XFetch): a hit near expiry triggers one background refresh with a
   * probability that grows as expiry nears and with how long the result took to compute, so hot keys are
   * recomputed before they expire, by one caller rather than a stampede. `true`, or `{ beta }` (default 1;
   * larger refreshes earlier). Needs a `ttl`; not with `neverDie`.
   *
   * @example
   * cache.wrap('HOT', loadHot, { ttl: '30s', earlyRefresh: true })
   */
  earlyRefresh?: boolean | EarlyRefreshOption
  /**
   * Never die: each result is recomputed in the background before it expires (at `at` × ttl, default
   * 0.9) while its call keeps being made; a refresh that fails keeps the old result answering. Refreshes
   * of a call stop once nobody has made it for `idle` (default ten times the ttl). Timers never keep the
   * process alive, and stop at `cache.close()`. Needs a `ttl`.
   *
   * @example
   * cache.wrap('CONFIG', loadConfig, { ttl: '5m', neverDie: { idle: '1h' } })
   */
  neverDie?: boolean | NeverDieOption
  /**
   * Stores a result only when this answers `true` (called with the result and the call's arguments);
   * otherwise the result is returned but not cached. Not for generator functions.
   *
   * @example
   * cache.wrap('USER', findUser, { cacheIf: (user) => user !== undefined })
   */
  cacheIf?: (value: unknown, ...args: Args) => boolean
  /**
   * Hit-limited results: a result is dropped after answering `hits` hits (the next call computes again),
   * and refreshed in the background `refreshBefore` hits earlier if given. Counted per process.
   *
   * @example
   * cache.wrap('TOKEN', issueToken, { ttl: '1h', hitLimit: { hits: 100, refreshBefore: 5 } })
   */
  hitLimit?: HitLimitOption
  /**
   * Perf-triggered caching: results are stored only when computing has become slow, taking more than
   * `factor` (2) × the mean of the recent computations (`samples`, 20), measured per process. While the
   * function is fast every call computes. `true` or `{ factor, samples }`.
   *
   * @example
   * cache.wrap('REPORT', buildReport, { ttl: '5m', cacheWhenSlow: { factor: 3 } })
   */
  cacheWhenSlow?: true | CacheWhenSlowOption
  /**
   * At most `limit` calls with the same arguments per `period` (fixed windows); a call over the limit
   * throws a `RateLimitError` (with `retryAfterMs`), or answers `onLimit(...args)` when given. Counted
   * in the store where it is shared (every process shares the limit; one atomic `incr` per call), in
   * the process on the memory backend. Hits count too: it limits callers, not computations.
   *
   * @example
   * const search = cache.wrap('SEARCH', runSearch, { ttl: '1m', rateLimit: { limit: 10, period: '1m' } })
   */
  rateLimit?: RateLimitOption & { onLimit?: (...args: Args) => unknown }
}

/** The wrapped function, as the engine calls it. */
export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown

/** Every option `wrap` knows: anything else is refused, so a misspelt `tll` is never silently ignored. */
export const WRAP_OPTIONS = [
  'key',
  'includeArgs',
  'excludeArgs',
  'keyThis',
  'ttl',
  'version',
  'lock',
  'staleWhileRevalidate',
  'failSafe',
  'softTimeout',
  'earlyRefresh',
  'neverDie',
  'cacheIf',
  'hitLimit',
  'cacheWhenSlow',
  'rateLimit',
] as const
