import { InvalidOptionError } from '../errors.js'

/** The `cacheWhenSlow` option of `wrap` as an object. */
export interface CacheWhenSlowOption {
  /** A computation is slow when it takes more than `factor` × the mean of the recent ones. Default 2. */
  factor?: number
  /** How many recent computation times the mean is taken over. Default 20. */
  samples?: number
}

/** Before this many computations are known, none is called slow. */
const MIN_SAMPLES = 3

/**
 * Perf-triggered caching: a wrapped function whose results are stored only when it has become slow, a
 * computation taking more than `factor` × the mean of its recent computations (per process). While the
 * function is fast every call computes; once a call is slow its result answers for its ttl, and the
 * computation after that is measured again.
 */
export class SlowCalls {
  readonly factor: number
  private readonly recent: number[] = []
  private next = 0

  constructor(
    option: true | CacheWhenSlowOption,
    where: string,
    private readonly samples = option === true ? 20 : (option.samples ?? 20),
  ) {
    const factor = option === true ? 2 : (option.factor ?? 2)
    if (!(typeof factor === 'number' && factor > 1 && Number.isFinite(factor))) {
      throw new InvalidOptionError(
        `${where}.cacheWhenSlow.factor must be a number above 1, got ${String(factor)}`,
      )
    }
    if (!Number.isSafeInteger(samples) || samples < MIN_SAMPLES) {
      throw new InvalidOptionError(
        `${where}.cacheWhenSlow.samples must be an integer of at least ${MIN_SAMPLES}, got ${String(samples)}`,
      )
    }
    this.factor = factor
  }

  /** Records a computation's time and answers whether it was slow against the ones before it. */
  slow(computeMs: number): boolean {
    const { recent } = this
    const known = recent.length >= MIN_SAMPLES
    const mean = known ? recent.reduce((sum, ms) => sum + ms, 0) / recent.length : 0
    if (recent.length < this.samples) recent.push(computeMs)
    else {
      recent[this.next] = computeMs
      this.next = (this.next + 1) % this.samples
    }
    return known && computeMs > this.factor * mean
  }
}
