import { InvalidOptionError } from '../errors.js'

/** The `hitLimit` option of `wrap`. */
export interface HitLimitOption {
  /** A result is dropped after answering this many hits (the next call computes again). */
  hits: number
  /** Refresh it in the background this many hits before the limit, so the drop is never felt. Default 0. */
  refreshBefore?: number
}

/** In-process counts above this many call keys are dropped all at once (they start again from 0). */
const COUNTED_KEYS = 10_000

/**
 * Counts the hits of each result of one wrapped function, in this process: after `hits` hits the result
 * is dropped; `refreshBefore` hits earlier it is refreshed in the background. A new result of a call
 * starts its count again. Counts are per process (counting in the store would cost a write per hit):
 * with N processes sharing a store, a result answers up to N × `hits` hits.
 */
export class HitLimit {
  readonly hits: number
  readonly refreshAt: number | undefined
  private counts = new Map<string, number>()

  constructor(option: HitLimitOption, where: string) {
    if (typeof option !== 'object' || option === null) {
      throw new InvalidOptionError(`${where}.hitLimit must be { hits, refreshBefore? }`)
    }
    const { hits, refreshBefore = 0 } = option
    if (!Number.isSafeInteger(hits) || hits < 1) {
      throw new InvalidOptionError(`${where}.hitLimit.hits must be a positive integer, got ${String(hits)}`)
    }
    if (!Number.isSafeInteger(refreshBefore) || refreshBefore < 0 || refreshBefore >= hits) {
      throw new InvalidOptionError(
        `${where}.hitLimit.refreshBefore must be an integer from 0 to hits − 1, got ${String(refreshBefore)}`,
      )
    }
    this.hits = hits
    this.refreshAt = refreshBefore === 0 ? undefined : hits - refreshBefore
  }

  /** Counts a hit: `drop` at the limit, `refresh` when the refresh point is reached, else `answer`. */
  count(key: string): 'answer' | 'refresh' | 'drop' {
    const count = (this.counts.get(key) ?? 0) + 1
    if (count >= this.hits) {
      this.counts.delete(key)
      return 'drop'
    }
    if (this.counts.size >= COUNTED_KEYS && count === 1) this.counts = new Map()
    this.counts.set(key, count)
    return count === this.refreshAt ? 'refresh' : 'answer'
  }

  /** A new result of `key` was stored: its count starts again. */
  restart(key: string): void {
    this.counts.delete(key)
  }
}
