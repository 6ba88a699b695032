import type { AnyBackend } from './backend/contract.js'
import type { Cache } from './cache.js'

/** What a computation hook is told about the computation it wraps. */
export interface ComputeInfo {
  /** The cache's domain key. */
  readonly domainKey: string
  /** The function key given to `wrap`. */
  readonly functionKey: string
  /** The storage key of the call's result (it holds the call's arguments: treat it as personal data). */
  readonly key: string
  /** The backend's name (`'memory'`, `'sqlite'`, `'redis'`…). */
  readonly backend: string
  /** A background refresh (stale-while-revalidate, early refresh, never-die…) rather than a caller's miss. */
  readonly refresh: boolean
}

/**
 * A plug-in that observes a cache: metrics and tracing integrations (such as `@rapide/core/opentelemetry`)
 * are built on it. It never changes what a call answers.
 *
 * @example
 * const logSlow: CacheInstrumentation = {
 *   attach(cache) {
 *     cache.on('compute', ({ functionKey, ms }) => { if (ms > 500) console.warn(`${functionKey} took ${ms} ms`) })
 *   },
 * }
 * const cache = createCache({ domainKey: 'APP', backend: MemoryBackend, instrumentation: logSlow })
 */
export interface CacheInstrumentation {
  /** Called once by `createCache` with the new cache: subscribe to its events here. */
  attach?(cache: Cache<AnyBackend>): void
  /**
   * Runs one computation of a wrapped function (a miss, a `refresh()`, a background refresh). Must call
   * `run` exactly once, synchronously, and return exactly what it returns (a promise for an asynchronous
   * function): this is where a tracer makes its span the active one, so the function's own spans nest
   * under it. A hook that throws before calling `run` is reported (`error` event, operation
   * `instrumentation`) and the function runs without it.
   */
  compute?<T>(info: ComputeInfo, run: () => T): T
}
