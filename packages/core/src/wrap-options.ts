import type { ComputationLockOption } from './coordination/computation-lock.js'
import type { ArgumentKeyOptions } from './keys/key-options.js'
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
   * lock. For asynchronous shared backends (Redis); ignored where the store is not shared (in-process
   * single-flight already covers it), refused on synchronous shared ones (SQLite), which cannot wait
   * without blocking.
   *
   * @example
   * const report = cache.wrap('REPORT', buildReport, { ttl: '1h', lock: { ttl: '30s' } })
   */
  lock?: ComputationLockOption
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
] as const
