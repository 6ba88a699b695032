/**
 * The names rapide gives its spans, span events, metrics and attributes: what a dashboard or an alert
 * queries. There is no stable OpenTelemetry semantic convention for caches, so the general stable names
 * are used where they mean the same thing (`error.type`) and everything else is in the `rapide.`
 * namespace. `cache.hit` follows the name other cache instrumentations use for a lookup's outcome.
 *
 * `db.system.name` is deliberately not used for the backend: it marks a span or metric as a database
 * client operation, and a computation (the cached function's own work) or a hit counter is not one;
 * dashboards grouping by it would count them as Redis or SQLite calls.
 */

/** The cache's domain key (`createCache({ domainKey })`). */
export const ATTR_RAPIDE_DOMAIN = 'rapide.domain'
/** The function key given to `wrap` (low cardinality: one per wrapped function). */
export const ATTR_RAPIDE_FUNCTION = 'rapide.function'
/** The backend the cache runs on, as the core names it (on compute spans). */
export const ATTR_RAPIDE_BACKEND = 'rapide.backend'
/** The full cache key of a result. Only on spans, and only with `recordKeys: true`: keys carry arguments. */
export const ATTR_RAPIDE_KEY = 'rapide.key'
/** `true` on a compute span or duration that refreshes a result in the background (stale-while-revalidate, early refresh, never-die). */
export const ATTR_RAPIDE_REFRESH = 'rapide.refresh'
/** Why a stale result answered: `staleWhileRevalidate`, `neverDie`, `failSafe`, `softTimeout` or `lock`. */
export const ATTR_RAPIDE_STALE_REASON = 'rapide.stale.reason'
/** What an invalidation dropped: `result`, `function` or `domain`. */
export const ATTR_RAPIDE_INVALIDATION_LEVEL = 'rapide.invalidation.level'
/** The operation that failed, as the `error` event names it (`get`, `set`, `decode`, `listener:hit`, …). */
export const ATTR_RAPIDE_OPERATION = 'rapide.operation'
/** Whether a call was answered from the cache (on `rapide.lookups`; a compute span is a computation, not a lookup). */
export const ATTR_CACHE_HIT = 'cache.hit'
/** OpenTelemetry's stable attribute: a failure's error code (a rapide error's `code`) or class name. */
export const ATTR_ERROR_TYPE = 'error.type'

/** One span per computation of a wrapped function, named `rapide.compute <function key>`. */
export const SPAN_RAPIDE_COMPUTE = 'rapide.compute'
/** A span event added to the active span when an invalidation is applied. */
export const EVENT_RAPIDE_INVALIDATE = 'rapide.invalidate'

/** Counter of lookups answered from the cache (`cache.hit=true`) or not (`cache.hit=false`). */
export const METRIC_RAPIDE_LOOKUPS = 'rapide.lookups'
/** Counter of calls answered with a stale result, by `rapide.stale.reason`. */
export const METRIC_RAPIDE_STALE_ANSWERS = 'rapide.stale_answers'
/** Histogram of computation durations in seconds; its count is the number of computations. */
export const METRIC_RAPIDE_COMPUTE_DURATION = 'rapide.compute.duration'
/** Counter of failures the cache reported (`error` event), by `rapide.operation` and `error.type`. */
export const METRIC_RAPIDE_ERRORS = 'rapide.errors'
/** Counter of invalidations applied, by `rapide.invalidation.level`. */
export const METRIC_RAPIDE_INVALIDATIONS = 'rapide.invalidations'
