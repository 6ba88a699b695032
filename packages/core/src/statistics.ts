/**
 * What happened to the calls of one wrapped function (or of all of them: the cache's total) since the
 * cache was created or its statistics were last reset. Every call counts once: as a hit, a miss, or a
 * call refused by its rate limit.
 */
export interface CallStatistics {
  /** Calls answered from a stored result without waiting for a computation. */
  readonly hits: number
  /** Calls that found no usable stored result: they computed, or waited for a computation under way. */
  readonly misses: number
  /**
   * Calls answered with a result past its ttl, whatever the strategy: stale-while-revalidate and never-die
   * (counted among hits too), fail-safe, soft timeout and a held lock (counted among misses too).
   */
  readonly stale: number
  /** Calls refused by the function's `rateLimit` (answered by `onLimit` or a `RateLimitError`). */
  readonly rateLimited: number
  /** Times the function itself ran: misses that did not join a computation, refreshes, background refreshes. */
  readonly computations: number
  /** Computations that threw or rejected. */
  readonly failures: number
  /** Cache-side failures on this function's keys: backend operations, entries that did not decode or encode. */
  readonly errors: number
  /** Result- and function-level invalidations of this function (domain-level ones are counted on the cache). */
  readonly invalidations: number
  /** Total time spent computing, in milliseconds (failed computations included). */
  readonly computeMs: number
  /** `hits / (hits + misses)`, or `undefined` before the first call. */
  readonly hitRatio: number | undefined
}

/** What `cache.stats()` answers. */
export interface CacheStatisticsSnapshot {
  /** When counting started: the cache's creation or the last `stats({ reset: true })` (ms since the epoch). */
  readonly since: number
  /** Every wrapped function's counters summed. */
  readonly total: CallStatistics
  /** Counters per function key (functions wrapped but never called show zeros). */
  readonly functions: Readonly<Record<string, CallStatistics>>
  /** Domain-level invalidations (`invalidateDomain`, `clear`). */
  readonly domainInvalidations: number
  /** Reads of the key-value API (`get`, `getMany`: one per key): found or not. */
  readonly keyValue: { readonly hits: number; readonly misses: number; readonly hitRatio: number | undefined }
  /**
   * Every failure reported through the `error` event, by operation (`get`, `decode`, `encode`,
   * `refresh:stale`…), including those on keys of no wrapped function (key-value API, background work).
   */
  readonly errorsByOperation: Readonly<Record<string, number>>
}

/**
 * The live counters of one function. Plain fields, incremented in place: the hit path pays one property
 * increment, no allocation and no call.
 */
export class FunctionCounters {
  hits = 0
  misses = 0
  rateLimited = 0
  stale = 0
  computations = 0
  failures = 0
  errors = 0
  invalidations = 0
  computeMs = 0

  reset(): void {
    this.hits = this.misses = this.rateLimited = this.stale = this.computations = 0
    this.failures = this.errors = this.invalidations = this.computeMs = 0
  }

  snapshot(): CallStatistics {
    const { hits, misses, rateLimited, stale, computations, failures, errors, invalidations, computeMs } =
      this
    const calls = hits + misses
    return {
      hits,
      misses,
      rateLimited,
      stale,
      computations,
      failures,
      errors,
      invalidations,
      computeMs: Math.round(computeMs * 1000) / 1000,
      hitRatio: calls === 0 ? undefined : hits / calls,
    }
  }

  add(other: FunctionCounters): void {
    this.hits += other.hits
    this.misses += other.misses
    this.rateLimited += other.rateLimited
    this.stale += other.stale
    this.computations += other.computations
    this.failures += other.failures
    this.errors += other.errors
    this.invalidations += other.invalidations
    this.computeMs += other.computeMs
  }
}

/**
 * Counters a cache created with `stats: false` writes to and nobody reads: the engines count
 * unconditionally (cheaper than testing a flag), into this.
 */
export const DISCARDED_COUNTERS = new FunctionCounters()

/** One cache's statistics: counters per function, plus what belongs to no function. */
export class CacheStatistics {
  private readonly functions = new Map<string, { counters: FunctionCounters; prefixes: readonly string[] }>()
  private readonly errorsByOperation = new Map<string, number>()
  private domainInvalidations = 0
  private keyValueHits = 0
  private keyValueMisses = 0
  private since = Date.now()

  /**
   * The counters of a function once it is wrapped (never before: a function only invalidated by name is
   * no function of these statistics); its keys start with one of `prefixes` (results, their generations).
   */
  forFunction(functionKey: string, prefixes: readonly string[]): FunctionCounters {
    const counters = new FunctionCounters()
    this.functions.set(functionKey, { counters, prefixes })
    return counters
  }

  countInvalidation(level: 'result' | 'function' | 'domain', functionKey: string | undefined): void {
    if (level === 'domain' || functionKey === undefined) this.domainInvalidations++
    else {
      const found = this.functions.get(functionKey)
      if (found !== undefined) found.counters.invalidations++
    }
  }

  countKeyValueRead(found: boolean): void {
    if (found) this.keyValueHits++
    else this.keyValueMisses++
  }

  /**
   * A reported failure: counted by operation, and on the function whose key it concerns. A failed
   * background refresh (`refresh:*`) is the function's own failure, counted as one already (or a store
   * failure reported on its own): it stays out of the function's cache-side errors.
   */
  countError(operation: string, key: string | undefined): void {
    this.errorsByOperation.set(operation, (this.errorsByOperation.get(operation) ?? 0) + 1)
    if (key === undefined || operation.startsWith('refresh:')) return
    for (const { counters, prefixes } of this.functions.values()) {
      if (prefixes.some((prefix) => key.startsWith(prefix))) {
        counters.errors++
        return
      }
    }
  }

  snapshot(reset: boolean): CacheStatisticsSnapshot {
    const total = new FunctionCounters()
    const functions: Record<string, CallStatistics> = {}
    for (const [functionKey, { counters }] of this.functions) {
      functions[functionKey] = counters.snapshot()
      total.add(counters)
      if (reset) counters.reset()
    }
    const out: CacheStatisticsSnapshot = {
      since: this.since,
      total: total.snapshot(),
      functions,
      domainInvalidations: this.domainInvalidations,
      keyValue: {
        hits: this.keyValueHits,
        misses: this.keyValueMisses,
        hitRatio:
          this.keyValueHits + this.keyValueMisses === 0
            ? undefined
            : this.keyValueHits / (this.keyValueHits + this.keyValueMisses),
      },
      errorsByOperation: Object.fromEntries(this.errorsByOperation),
    }
    if (reset) {
      this.keyValueHits = this.keyValueMisses = 0
      this.errorsByOperation.clear()
      this.domainInvalidations = 0
      // Always a new value, even within one millisecond: `since` is how readers (OpenTelemetry) tell a reset.
      this.since = Math.max(Date.now(), this.since + 1)
    }
    return out
  }
}
