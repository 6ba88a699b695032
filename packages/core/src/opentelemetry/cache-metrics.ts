import type { Attributes, Counter, Histogram, Meter, ObservableCounter } from '@opentelemetry/api'
import type { AnyBackend } from '../backend/contract.js'
import type { Cache } from '../cache.js'
import { NotSupportedError } from '../errors.js'
import { errorType } from './error-type.js'
import { type LookupSeries, LookupTotals } from './lookup-totals.js'
import {
  ATTR_ERROR_TYPE,
  ATTR_RAPIDE_DOMAIN,
  ATTR_RAPIDE_FUNCTION,
  ATTR_RAPIDE_INVALIDATION_LEVEL,
  ATTR_RAPIDE_OPERATION,
  ATTR_RAPIDE_REFRESH,
  ATTR_RAPIDE_STALE_REASON,
  METRIC_RAPIDE_COMPUTE_DURATION,
  METRIC_RAPIDE_ERRORS,
  METRIC_RAPIDE_INVALIDATIONS,
  METRIC_RAPIDE_LOOKUPS,
  METRIC_RAPIDE_STALE_ANSWERS,
} from './names.js'

/**
 * Bucket bounds of the duration histogram, in seconds: OpenTelemetry's advice for request durations
 * (the SDK's default bounds are meant for milliseconds and would put every computation in the first bucket).
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/**
 * The instruments, made once per `openTelemetry()` and shared by every cache it is attached to (the
 * domain attribute tells the caches apart). Lookups are read from the caches' statistics when collected
 * (see {@link LookupTotals}); everything else is fed by the cache's events, none of which is on the
 * hit path. No key ever reaches a metric (keys carry arguments, and one series per key would swamp any
 * metrics backend).
 */
export class CacheMetrics {
  private readonly lookups: ObservableCounter
  private readonly lookupTotals = new Set<LookupTotals>()
  /** The last totals of caches gone since, by series. */
  private readonly retired = new Map<string, LookupSeries>()
  private readonly staleAnswers: Counter
  private readonly computeDuration: Histogram
  private readonly errors: Counter
  private readonly invalidations: Counter

  constructor(meter: Meter) {
    this.lookups = meter.createObservableCounter(METRIC_RAPIDE_LOOKUPS, {
      description: 'Calls of wrapped functions, answered from the cache (cache.hit=true) or not',
      unit: '{lookup}',
    })
    this.lookups.addCallback((result) => {
      // Summed per series before observing: the SDK keeps one value per attribute set, so two caches of
      // one domain (or a closed cache and its successor) must not overwrite each other.
      const sums = new Map<string, LookupSeries>()
      for (const [series, { attributes, value }] of this.retired) sums.set(series, { attributes, value })
      for (const totals of this.lookupTotals) {
        if (totals.report(sums)) continue
        // Collected by the garbage collector: its last totals stay in the counter, which never goes down.
        this.lookupTotals.delete(totals)
        totals.addTo(this.retired)
      }
      for (const { attributes, value } of sums.values()) result.observe(value, attributes)
    })
    this.staleAnswers = meter.createCounter(METRIC_RAPIDE_STALE_ANSWERS, {
      description: 'Calls answered with a result past its ttl, by reason',
      unit: '{answer}',
    })
    this.computeDuration = meter.createHistogram(METRIC_RAPIDE_COMPUTE_DURATION, {
      description: 'Duration of the computations of wrapped functions (misses and background refreshes)',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
    this.errors = meter.createCounter(METRIC_RAPIDE_ERRORS, {
      description: 'Failures the cache reported (backend operations, decoding, listeners), by operation',
      unit: '{error}',
    })
    this.invalidations = meter.createCounter(METRIC_RAPIDE_INVALIDATIONS, {
      description: 'Invalidations applied, by level',
      unit: '{invalidation}',
    })
  }

  /** Feeds the instruments from `cache`'s statistics and events, for as long as the cache lives. */
  observe(cache: Cache<AnyBackend>): void {
    const domain = cache.domainKey
    const totals = statisticsOf(cache)
    if (totals !== undefined) this.lookupTotals.add(totals)
    cache.on('stale', ({ functionKey, reason, error }) => {
      const attributes: Attributes = {
        [ATTR_RAPIDE_DOMAIN]: domain,
        [ATTR_RAPIDE_FUNCTION]: functionKey,
        [ATTR_RAPIDE_STALE_REASON]: reason,
      }
      // Fail-safe answers because the computation failed: say with what.
      if (error !== undefined) attributes[ATTR_ERROR_TYPE] = errorType(error)
      this.staleAnswers.add(1, attributes)
    })
    cache.on('compute', ({ functionKey, ms, refresh, error }) => {
      const attributes: Attributes = {
        [ATTR_RAPIDE_DOMAIN]: domain,
        [ATTR_RAPIDE_FUNCTION]: functionKey,
        [ATTR_RAPIDE_REFRESH]: refresh,
      }
      if (error !== undefined) attributes[ATTR_ERROR_TYPE] = errorType(error)
      this.computeDuration.record(ms / 1000, attributes)
    })
    cache.on('error', ({ operation, error }) => {
      this.errors.add(1, {
        [ATTR_RAPIDE_DOMAIN]: domain,
        [ATTR_RAPIDE_OPERATION]: operation,
        [ATTR_ERROR_TYPE]: errorType(error),
      })
    })
    cache.on('invalidate', ({ level, functionKey }) => {
      const attributes: Attributes = {
        [ATTR_RAPIDE_DOMAIN]: domain,
        [ATTR_RAPIDE_INVALIDATION_LEVEL]: level,
      }
      if (functionKey !== undefined) attributes[ATTR_RAPIDE_FUNCTION] = functionKey
      this.invalidations.add(1, attributes)
    })
  }
}

/** The lookup totals of a cache that keeps statistics; none under `createCache({ stats: false })`. */
function statisticsOf(cache: Cache<AnyBackend>): LookupTotals | undefined {
  try {
    cache.stats()
  } catch (error) {
    if (error instanceof NotSupportedError) return undefined
    throw error
  }
  return new LookupTotals(cache)
}
