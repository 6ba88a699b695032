/** How long a read of the clock is reused (ms). */
const RESOLUTION_MS = 1

let cached = 0
/** The `Date` the cached value was read from: a test installing or removing fake timers replaces it. */
let cachedFrom: DateConstructor = Date

/**
 * `Date.now()`, read at most once per millisecond: the hit path of a function with freshness strategies
 * judges each result's age, and on the memory backend a hit costs about 100–200 ns, of which a clock read
 * would be a third. The value is reused until a timer (which never keeps the process alive) clears it,
 * so while the event loop is blocked by synchronous work, time stands still for these judgments (the
 * memory backend's own expiry reads its clock the same way). Under fake timers, advancing them (not only
 * setting the system time) moves it. Stores, rate limits and timers read the real clock.
 */
export function coarseNow(): number {
  if (cached !== 0 && Date === cachedFrom) return cached
  cachedFrom = Date
  cached = Date.now()
  const timer = setTimeout(forget, RESOLUTION_MS)
  timer.unref?.()
  return cached
}

function forget(): void {
  cached = 0
}
