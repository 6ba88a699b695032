/** How long a read of the clock is reused (ms). */
const RESOLUTION_MS = 1
/** A read is reused at most this many times, whatever the timers do (an async loop that only awaits
 * microtasks never reaches the timer that would clear it). */
const MAX_USES = 1024

/** The timer and clock this module was loaded with: under fake ones, the clock is read every time. */
const realSetTimeout = globalThis.setTimeout
const realDate = Date

let cached = 0
let uses = 0

/**
 * `Date.now()`, read at most once per millisecond (and per 1024 uses): the hit path of a function with
 * freshness strategies judges each result's age, and on the memory backend a hit costs about 100–200 ns,
 * of which a clock read would be a third. The value is reused until a timer (which never keeps the
 * process alive) clears it, so within a long synchronous stretch of work time moves in steps of at most
 * 1024 calls (the memory backend's own expiry reads its clock the same way). Where timers or `Date` are
 * not the ones this module was loaded with (fake timers in a test), the clock is read at every call.
 * Stores, rate limits and timers read the real clock.
 */
export function coarseNow(): number {
  const real = setTimeout === realSetTimeout && Date === realDate
  if (cached !== 0 && real && ++uses < MAX_USES) return cached
  const now = Date.now()
  if (!real) {
    cached = 0
    return now
  }
  cached = now
  uses = 0
  const timer = realSetTimeout(forget, RESOLUTION_MS)
  timer.unref?.()
  return now
}

function forget(): void {
  cached = 0
}
