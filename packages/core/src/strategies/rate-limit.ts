import type { CacheContext } from '../context.js'
import { InvalidOptionError } from '../errors.js'
import { chain, type MaybePromise } from '../maybe-promise.js'
import { parseTtl, type Ttl } from '../ttl.js'

/** The `rateLimit` option of `wrap`. */
export interface RateLimitOption {
  /** At most this many calls with the same arguments per `period`… */
  limit: number
  /** …per this period (fixed windows, aligned on the clock). */
  period: Ttl
}

/**
 * In-process counts above this many call keys drop the ones of past periods (once per period); within
 * one period the map holds every key called in it.
 */
const LOCAL_KEYS = 10_000

/**
 * Counts the calls of one wrapped function per call key in fixed periods, and says whether a call is
 * within `limit`. Where the store is shared (SQLite, disk, Redis) the count is the store's: an atomic
 * `incr` of a counter that expires with its period, so every process shares one limit (a call costs one
 * write). Under local coordination (the memory backend) it is a count in this process, which is the
 * store's only user.
 */
export class RateLimiter {
  readonly limit: number
  readonly periodMs: number
  private readonly local: Map<string, { window: number; count: number }> | undefined
  /** The period the in-process counts were last swept of past periods' (once per period at most). */
  private sweptWindow = -1

  constructor(
    private readonly ctx: CacheContext,
    /** Where the counters live (`Nq:{function:version:`). */
    private readonly namespace: string,
    option: RateLimitOption,
    where: string,
  ) {
    if (typeof option !== 'object' || option === null) {
      throw new InvalidOptionError(`${where}.rateLimit must be { limit, period }`)
    }
    const { limit } = option
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidOptionError(
        `${where}.rateLimit.limit must be a positive integer, got ${String(limit)}`,
      )
    }
    this.limit = limit
    this.periodMs = parseTtl(option.period, `${where}.rateLimit.period`)
    if (ctx.coordination === 'local') {
      this.local = new Map()
    } else if (!ctx.store.hasIncr) {
      throw new InvalidOptionError(
        `${where}.rateLimit counts calls in the store, which needs atomic counters (incr): the ${ctx.store.name} backend has none`,
      )
    }
  }

  /**
   * Counts a call of `groupKey` (the call's key group, as results are keyed) and answers how long until
   * the period ends when it is over the limit, `undefined` when it is within.
   */
  check(groupKey: string): MaybePromise<number | undefined> {
    const now = Date.now()
    const window = Math.floor(now / this.periodMs)
    const retryAfterMs = (window + 1) * this.periodMs - now
    const { local } = this
    if (local !== undefined) {
      let count = local.get(groupKey)
      if (count === undefined || count.window !== window) {
        if (count === undefined && local.size >= LOCAL_KEYS && this.sweptWindow !== window) {
          // Once per period: a map full of this period's keys is not scanned again for each new one.
          this.sweptWindow = window
          forgetPast(local, window)
        }
        count = { window, count: 0 }
        local.set(groupKey, count)
      }
      return ++count.count > this.limit ? retryAfterMs : undefined
    }
    // The counter expires with its period (plus a second, for clocks a little apart).
    const counted = this.ctx.store.incr(`${this.namespace}${groupKey}@${window}`, 1, retryAfterMs + 1000)
    return chain(counted, (count) => (count > this.limit ? retryAfterMs : undefined))
  }
}

function forgetPast(local: Map<string, { window: number }>, window: number): void {
  for (const [key, count] of local) if (count.window !== window) local.delete(key)
}
