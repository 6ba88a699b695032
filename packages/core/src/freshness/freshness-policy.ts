import { InvalidOptionError } from '../errors.js'
import { parseTtl, type Ttl } from '../ttl.js'

/** −ln(Number.MIN_VALUE): the largest −ln of a draw of `Math.random()` (0 counts as the smallest double). */
const MAX_DRAW = -Math.log(Number.MIN_VALUE)

/** The longest delay a Node.js timer takes (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Which computation errors fail-safe covers: error classes, or a predicate. */
export type ErrorFilter =
  | readonly (abstract new (
      ...args: never[]
    ) => unknown)[]
  | ((error: unknown) => boolean)

/** `failSafe` as an object: the grace window, and which errors it covers (default: every error). */
export interface FailSafeOption {
  /** How long past its ttl the last good result may still answer a failed computation. */
  grace: Ttl
  /** Only these errors (classes, or a predicate) are answered with the last good result; others are thrown. */
  on?: ErrorFilter
}

/** `earlyRefresh` as an object: XFetch's β (default 1; larger refreshes earlier). */
export interface EarlyRefreshOption {
  beta?: number
}

/** `neverDie` as an object. */
export interface NeverDieOption {
  /** When to refresh, as a fraction of the ttl after a result was stored. Default `0.9`. */
  at?: number
  /** Refreshes of a call stop once nobody has made it for this long. Default: ten times the ttl. */
  idle?: Ttl
}

/** The freshness options of `wrap` (see `WrapOptions`). */
export interface FreshnessOptions {
  staleWhileRevalidate?: Ttl
  failSafe?: Ttl | FailSafeOption
  softTimeout?: Ttl
  earlyRefresh?: boolean | EarlyRefreshOption
  neverDie?: boolean | NeverDieOption
}

/**
 * What a hit does with a stored result, by its age (see {@link FreshnessPolicy.judge}):
 *
 * - `fresh`: answered;
 * - `early`: fresh, but drawn for an early refresh (XFetch): answered, and refreshed in the background;
 * - `stale`: past its ttl, within `staleWhileRevalidate` (or kept alive by never-die): answered, and
 *   refreshed in the background;
 * - `fallback`: past what may be answered, but kept: computed, and answered only if that fails
 *   (fail-safe) or takes longer than `softTimeout`;
 * - `expired`: too old for anything: computed.
 */
export type Verdict = 'fresh' | 'early' | 'stale' | 'fallback' | 'expired'

/**
 * The freshness strategies of one wrapped function, checked once at `wrap`: how long results are fresh
 * (`ttl`), how long past it they are kept and for what (stale-while-revalidate, fail-safe, soft timeout,
 * never-die), and early refresh. Combinations that cannot work are refused with an `InvalidOptionError`
 * saying why (see the core README, "Freshness and resilience").
 */
export class FreshnessPolicy {
  /** How long past the ttl a result may answer a call while it is refreshed. */
  readonly staleMs: number
  /** How long past the ttl a result is kept to answer a failed (or, with softTimeout, slow) computation. */
  readonly fallbackMs: number
  readonly failSafeOn: ((error: unknown) => boolean) | undefined
  readonly failSafe: boolean
  readonly softTimeoutMs: number | undefined
  /** XFetch's β, or `undefined` without early refresh. */
  readonly beta: number | undefined
  /** Never-die: refresh at this fraction of the ttl, while calls keep coming within `idleMs`. */
  readonly neverDie: { readonly at: number; readonly idleMs: number } | undefined
  /** How long a result is kept by the backend: its ttl plus the longest window it may still serve in. */
  readonly retentionMs: number

  constructor(
    readonly ttlMs: number,
    options: FreshnessOptions,
    where: string,
  ) {
    const { staleWhileRevalidate, failSafe, softTimeout, earlyRefresh, neverDie } = options
    this.staleMs =
      staleWhileRevalidate === undefined ? 0 : parseTtl(staleWhileRevalidate, `${where}.staleWhileRevalidate`)
    let failSafeMs = 0
    if (failSafe !== undefined) {
      const option = typeof failSafe === 'object' && failSafe !== null ? failSafe : { grace: failSafe }
      failSafeMs = parseTtl(option.grace, `${where}.failSafe.grace`)
      this.failSafeOn = errorFilter(option.on, `${where}.failSafe.on`)
    }
    this.failSafe = failSafe !== undefined
    this.softTimeoutMs = softTimeout === undefined ? undefined : parseTtl(softTimeout, `${where}.softTimeout`)
    if (earlyRefresh !== undefined && earlyRefresh !== false) {
      const beta = earlyRefresh === true ? 1 : (earlyRefresh.beta ?? 1)
      if (!(typeof beta === 'number' && beta > 0 && Number.isFinite(beta))) {
        throw new InvalidOptionError(
          `${where}.earlyRefresh.beta must be a positive number, got ${String(beta)}`,
        )
      }
      this.beta = beta
    }
    if (neverDie !== undefined && neverDie !== false) {
      const option = neverDie === true ? {} : neverDie
      const at = option.at ?? 0.9
      if (!(typeof at === 'number' && at > 0 && at < 1)) {
        throw new InvalidOptionError(
          `${where}.neverDie.at must be a fraction of the ttl between 0 and 1, got ${String(at)}`,
        )
      }
      const idleMs = option.idle === undefined ? ttlMs * 10 : parseTtl(option.idle, `${where}.neverDie.idle`)
      this.neverDie = { at, idleMs }
    }
    if (this.softTimeoutMs !== undefined && failSafeMs === 0) {
      throw new InvalidOptionError(
        `${where}: softTimeout answers a slow computation with the result kept past its ttl for failSafe: add failSafe (staleWhileRevalidate already answers without waiting)`,
      )
    }
    if (this.softTimeoutMs !== undefined && this.softTimeoutMs > MAX_TIMER_MS) {
      throw new InvalidOptionError(
        `${where}.softTimeout must be at most ${MAX_TIMER_MS} ms (about 24.8 days)`,
      )
    }
    if (this.beta !== undefined && this.neverDie !== undefined) {
      throw new InvalidOptionError(
        `${where}: earlyRefresh and neverDie both refresh before expiry; never-die already refreshes every result in time, choose one`,
      )
    }
    // Never-die keeps a result answering while its refreshes fail, as long as calls keep coming.
    const keptAlive = this.neverDie === undefined ? 0 : this.neverDie.idleMs
    this.fallbackMs = Math.max(failSafeMs, this.staleMs, keptAlive)
    this.retentionMs = ttlMs + this.fallbackMs
  }

  /**
   * What to do with a result stored at `storedAt` (ms since the epoch) that took `computeMs` to compute,
   * at `now`; `keptAlive`: never-die keeps this call alive in this process. A result of an older format
   * (no timing) is fresh: its backend ttl governs it.
   */
  judge(storedAt: number, computeMs: number, now: number, keptAlive: boolean): Verdict {
    if (storedAt === 0) return 'fresh'
    if (now < this.surelyFreshUntil(storedAt, computeMs)) return 'fresh'
    const expiresAt = storedAt + this.ttlMs
    if (now < expiresAt) {
      // XFetch: refresh early with a probability that grows as expiry nears, faster for slow computations
      // (−ln of a draw in (0, 1) is at most MAX_DRAW, so before `surelyFreshUntil` no draw can say yes).
      const draw = Math.random() || Number.MIN_VALUE
      if (now - computeMs * this.beta! * Math.log(draw) >= expiresAt) return 'early'
      return 'fresh'
    }
    const past = now - expiresAt
    // Never-die answers past the ttl only for a call this process keeps alive (its refresh failed).
    if (past < this.staleMs || (keptAlive && this.neverDie !== undefined && past < this.neverDie.idleMs)) {
      return 'stale'
    }
    if (past < this.fallbackMs) return 'fallback'
    return 'expired'
  }

  /**
   * Until when a result stored at `storedAt` (computed in `computeMs`) is fresh whatever the draw: its
   * expiry, less XFetch's widest early window (the hit path checks this first, without drawing).
   */
  surelyFreshUntil(storedAt: number, computeMs: number): number {
    const expiresAt = storedAt + this.ttlMs
    return this.beta === undefined ? expiresAt : expiresAt - computeMs * this.beta * MAX_DRAW
  }

  /** Whether fail-safe answers `error` with the last good result. */
  coversError(error: unknown): boolean {
    return this.failSafe && (this.failSafeOn === undefined || this.failSafeOn(error))
  }
}

function errorFilter(on: ErrorFilter | undefined, where: string): ((error: unknown) => boolean) | undefined {
  if (on === undefined) return undefined
  if (typeof on === 'function') return on
  if (Array.isArray(on) && on.every((type) => typeof type === 'function')) {
    return (error) => on.some((type) => error instanceof type)
  }
  throw new InvalidOptionError(`${where} must be a list of error classes or a predicate`)
}
