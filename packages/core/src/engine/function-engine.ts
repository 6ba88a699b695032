import type { CacheContext } from '../context.js'
import type { GenerationCounter } from '../coordination/backend-state.js'
import { type ComputationLock, parseComputationLock } from '../coordination/computation-lock.js'
import { type Flight, type FlightGuard, Flights } from '../coordination/flights.js'
import { PROVISIONAL_STORE_WINDOW_MS } from '../coordination/invalidation-markers.js'
import { CallbackError, InvalidOptionError, NotSupportedError, RateLimitError } from '../errors.js'
import { coarseNow } from '../freshness/coarse-clock.js'
import { FreshnessPolicy } from '../freshness/freshness-policy.js'
import { KeepAlive } from '../freshness/keep-alive.js'
import type { ComputeInfo } from '../instrumentation.js'
import { functionGenerationSuffix } from '../keys/key-layout.js'
import { createKeyDeriver, type KeyDeriver } from '../keys/key-options.js'
import { LiveEntry } from '../live-entry.js'
import { chain, isPromiseLike, type MaybePromise } from '../maybe-promise.js'
import { checkOptions } from '../options.js'
import { isGeneratorObject } from '../sequences.js'
import type { DecodedEnvelope } from '../serialization/envelope.js'
import { DISCARDED_COUNTERS, type FunctionCounters } from '../statistics.js'
import { HitLimit } from '../strategies/hit-limit.js'
import { RateLimiter } from '../strategies/rate-limit.js'
import { SlowCalls } from '../strategies/slow-calls.js'
import { parseOptionalTtl, parseTtl, type Ttl } from '../ttl.js'
import { type AnyFunction, WRAP_OPTIONS, type WrapOptions } from '../wrap-options.js'

/** A stored result past its time, kept to answer a failed (fail-safe) or slow (soft timeout) computation. */
export interface Fallback {
  readonly value: unknown
  readonly async: boolean
  /** The stamp it was valid under, and what the store held: an invalidation since makes it unusable. */
  readonly stamp: string
  readonly stored: unknown
}

/**
 * The engine behind one wrapped function, the part that does not depend on how invalidation is
 * coordinated: key derivation, single-flight computation, and race-free stores. Everything is written once
 * over `MaybePromise`, so on a synchronous backend a synchronous function never meets a promise.
 *
 * Two subclasses, chosen once per cache: {@link LocalFunction} (generations are counters in this process:
 * the memory backend) and {@link SharedFunction} (generations are tokens in the store, read with the entry).
 */
export abstract class FunctionEngine {
  /** Where this function's generations live. */
  readonly namespace: string
  /** Where this function's results live: the prefix a function invalidation makes dead. */
  readonly entryPrefix: string
  /** Where this function's per-argument result generations live. */
  readonly resultGenerationNamespace: string
  /** The key of this function's generation. */
  readonly functionGenerationKey: string
  /** Time to live of this function's results (`setExpiry` changes it). */
  ttlMs: number | undefined
  protected readonly deriveKey: KeyDeriver
  /** This function's generation under local coordination. */
  readonly functionGeneration: GenerationCounter
  /** `async function` is known to be asynchronous before its first call; others are learnt per entry. */
  protected knownAsync: boolean
  protected readonly version: string | undefined
  /** The cross-process lock (`lock` option): only ever set where processes share the store. */
  protected readonly lock: ComputationLock | undefined
  /**
   * The freshness strategies (`staleWhileRevalidate`, `failSafe`, …), if any, or the ttl `setExpiry`
   * shortened: the hit path then judges each result's age.
   */
  freshness: FreshnessPolicy | undefined
  /** How long the backend keeps a result: its ttl, plus the longest window the strategies may serve it in. */
  storeTtlMs: number | undefined
  /** `hitLimit`, `rateLimit`, `cacheWhenSlow`: what else a hit or a store must go through. */
  protected readonly hitLimit: HitLimit | undefined
  protected readonly rateLimiter: RateLimiter | undefined
  private readonly onLimit: ((...args: unknown[]) => unknown) | undefined
  private readonly slowCalls: SlowCalls | undefined
  /** Whether a hit goes through {@link judged} (freshness or hit limit) rather than straight out. */
  judging: boolean
  private readonly options: WrapOptions<readonly unknown[]>
  /** Never-die's refresh timers. */
  protected readonly keepAlive: KeepAlive | undefined
  /** `cacheIf`: results it refuses are returned but not stored. */
  private readonly cacheIf: ((value: unknown, ...args: unknown[]) => boolean) | undefined
  /**
   * Call keys with a background refresh scheduled or running (one each at a time), as the hit path has
   * them at hand: the argument key under local coordination, the whole key under shared.
   */
  private readonly refreshing = new Set<string>()
  /**
   * This function's statistics (`cache.stats()`), given by the cache once the function is wrapped; a sink
   * nobody reads under `stats: false` and for the throwaway engines of functions only named by an
   * invalidation.
   */
  counters: FunctionCounters = DISCARDED_COUNTERS

  constructor(
    protected readonly ctx: CacheContext,
    readonly functionKey: string,
    protected readonly fn: AnyFunction,
    options: WrapOptions<readonly unknown[]>,
  ) {
    checkOptions(options, WRAP_OPTIONS, `wrap("${functionKey}")`)
    const version = options.version === undefined ? undefined : String(options.version)
    this.version = version
    this.namespace = ctx.layout.functionNamespace(functionKey, version)
    this.entryPrefix = ctx.layout.resultNamespace(functionKey, version)
    this.resultGenerationNamespace = ctx.layout.resultGenerationNamespace(functionKey, version)
    this.functionGenerationKey = this.namespace + functionGenerationSuffix
    this.ttlMs = parseOptionalTtl(options.ttl, `wrap("${functionKey}").ttl`) ?? ctx.defaultTtlMs
    this.deriveKey = createKeyDeriver(functionKey, options)
    this.functionGeneration = ctx.state.generation(this.namespace)
    this.knownAsync = fn.constructor.name === 'AsyncFunction'
    this.lock = parseComputationLock(options.lock, functionKey, ctx.store)
    const where = `wrap("${functionKey}")`
    this.freshness = freshnessOf(options, this.ttlMs, where)
    this.storeTtlMs = this.freshness?.retentionMs ?? this.ttlMs
    const { neverDie } = this.freshness ?? {}
    if (neverDie !== undefined) {
      const keepAlive = new KeepAlive(this.ttlMs!, neverDie.at, neverDie.idleMs, (self, args, kept) =>
        this.refreshSoon(self, args, this.entryPrefix + kept, 'neverDie'),
      )
      ctx.onClose(() => keepAlive.stop())
      this.keepAlive = keepAlive
    }
    if (options.cacheIf !== undefined && typeof options.cacheIf !== 'function') {
      throw new InvalidOptionError(`${where}.cacheIf must be a function`)
    }
    this.cacheIf = options.cacheIf as typeof this.cacheIf
    this.hitLimit = options.hitLimit === undefined ? undefined : new HitLimit(options.hitLimit, where)
    this.slowCalls =
      options.cacheWhenSlow === undefined ? undefined : new SlowCalls(options.cacheWhenSlow, where)
    const { rateLimit } = options
    if (rateLimit !== undefined) {
      this.rateLimiter = new RateLimiter(
        ctx,
        ctx.layout.rateLimitNamespace(functionKey, version),
        rateLimit,
        where,
      )
      if (rateLimit.onLimit !== undefined && typeof rateLimit.onLimit !== 'function') {
        throw new InvalidOptionError(`${where}.rateLimit.onLimit must be a function`)
      }
      this.onLimit = rateLimit.onLimit as typeof this.onLimit
    }
    if (this.hitLimit !== undefined && this.keepAlive !== undefined) {
      throw new InvalidOptionError(
        `${where}: hitLimit drops results that neverDie keeps alive; choose one (hitLimit's refreshBefore refreshes ahead)`,
      )
    }
    this.judging = this.freshness !== undefined || this.hitLimit !== undefined
    this.options = options
  }

  /**
   * Changes this function's ttl: results stored from now on live `ttl`; results already stored are
   * judged by their age against it when read (so a shorter ttl applies to them at once; a longer one
   * cannot outlive what the backend was told when they were stored).
   */
  setExpiry(ttl: Ttl): void {
    const where = `wrap("${this.functionKey}").setExpiry`
    const ttlMs = parseTtl(ttl, where)
    this.ttlMs = ttlMs
    this.freshness = freshnessOf(this.options, ttlMs, where) ?? new FreshnessPolicy(ttlMs, {}, where)
    this.storeTtlMs = this.freshness.retentionMs
    this.keepAlive?.setTtl(ttlMs)
    this.judging = true
    this.ttlChanged(this.storeTtlMs)
  }

  /** Tells coordination-specific parts a new store ttl (see {@link setExpiry}). */
  protected ttlChanged(_storeTtlMs: number): void {}

  /**
   * A call over the rate limit: `onLimit`'s answer, or a `RateLimitError`. A limit that could not be
   * counted (the store failed) lets the call through under `onError: 'silent'` (reported).
   */
  protected limited(self: unknown, args: readonly unknown[], retryAfterMs: number): unknown {
    this.counters.rateLimited++
    if (this.onLimit !== undefined) return this.onLimit.apply(self, args as unknown[])
    throw new RateLimitError(this.functionKey, this.rateLimiter!.limit, retryAfterMs)
  }

  /** Runs `proceed` if the call is within its rate limit (always, without one). */
  protected withinRateLimit(
    self: unknown,
    args: readonly unknown[],
    groupKey: string,
    proceed: () => unknown,
  ): unknown {
    const limiter = this.rateLimiter
    if (limiter === undefined) return proceed()
    let checked: MaybePromise<number | undefined>
    try {
      checked = limiter.check(groupKey)
    } catch (error) {
      return this.limitUncounted(error, proceed)
    }
    if (checked instanceof Promise) {
      return checked.then(
        (retry) => (retry === undefined ? proceed() : this.limited(self, args, retry)),
        (error: unknown) => this.limitUncounted(error, proceed),
      )
    }
    return checked === undefined ? proceed() : this.limited(self, args, checked)
  }

  private limitUncounted(error: unknown, proceed: () => unknown): unknown {
    const typed = this.ctx.failure('rateLimit', error)
    if (this.ctx.onError === 'raise') throw typed
    return proceed()
  }

  /** Whether every call returns a promise whatever the backend (an `async function`, or one seen to). */
  get returnsPromise(): boolean {
    return this.knownAsync
  }

  /**
   * `call` as wrapped functions and decorated methods expose it: a call typed to return a promise (every
   * call on an asynchronous backend, an `async` function anywhere) rejects instead of throwing.
   */
  callFromUser(self: unknown, args: readonly unknown[]): unknown {
    try {
      return this.call(self, args)
    } catch (error) {
      if (this.ctx.async || this.knownAsync) return Promise.reject(error)
      throw error
    }
  }

  /** The backend key of the result of a call. Throws `UnkeyableArgumentError` for unkeyable arguments. */
  abstract entryKey(self: unknown, args: readonly unknown[]): string

  /** The key of the per-argument result generation of `entryKey` (shared coordination). */
  resultGenerationKey(entryKey: string): string {
    return this.resultGenerationNamespace + entryKey.slice(this.entryPrefix.length)
  }

  /** A call of the wrapped function: a hit, a joined computation, or a new one. */
  abstract call(self: unknown, args: readonly unknown[]): unknown

  /**
   * Computes and stores without reading the cache (the seed's skip-cache). A refresh supersedes every
   * computation of the same call that started before it, in this process and in others.
   */
  abstract refresh(
    self: unknown,
    args: readonly unknown[],
    supersede: (key: string) => MaybePromise<void>,
  ): unknown

  /**
   * Computes a call again and stores it, as a call that finds its result expired would (joining a
   * computation of it already running): what background refreshes run.
   */
  protected abstract recompute(self: unknown, args: readonly unknown[], key: string): unknown

  /**
   * Whether a fallback is still what the store holds under the current generations: no invalidation of
   * it (at any level) since it was read. Checked before fail-safe or soft timeout answer with it.
   */
  protected abstract fallbackValid(key: string, fallback: Fallback): MaybePromise<boolean>

  // ---- what each coordination decides -------------------------------------------------------------

  /** What a store of a computation on `stamp` is guarded by (a generation written with it), if anything. */
  protected abstract guardFor(key: string, stamp: string): FlightGuard | undefined

  /** A computation that must go through a cross-process lock, if this function has one. */
  protected abstract computeUnderLock(
    self: unknown,
    args: readonly unknown[],
    key: string,
    stamp: string,
    startedAt: number,
    guard: FlightGuard | undefined,
    background: boolean,
  ): Promise<unknown> | undefined

  /** Whether an invalidation has overtaken the computation (its result would never be accepted). */
  protected abstract outdated(flight: Flight): boolean

  /** Writes a computed result (with its guard, if any). */
  protected abstract write(key: string, stored: unknown, guard: FlightGuard | undefined): MaybePromise<void>

  /** Forgets a guard once its computation has stored or failed. */
  protected abstract settleGuard(guard: FlightGuard | undefined): void

  // ---- reading ------------------------------------------------------------------------------------

  protected decode(stored: unknown, key: string): DecodedEnvelope | undefined {
    try {
      return this.ctx.values.decodeResult(stored, key, this.judging)
    } catch (error) {
      this.ctx.report('decode', error, key)
      return undefined
    }
  }

  /** A hit on `prefix + rest` (two parts so the memory hit path builds no key unless a listener wants it). */
  protected hit(prefix: string, rest: string, value: unknown, async: boolean, viaPromise: boolean): unknown {
    this.counters.hits++
    const { events } = this.ctx
    if (events.has('hit')) events.emit('hit', { functionKey: this.functionKey, key: prefix + rest })
    return this.answer(value, async, viaPromise)
  }

  /**
   * Answers a call with a value it did not compute itself: a hit, or a stale fallback after a miss
   * (fail-safe, a held lock), which the caller has counted and reported as a miss and a stale answer.
   */
  protected answer(value: unknown, async: boolean, viaPromise: boolean): unknown {
    return !viaPromise && (async || this.knownAsync) ? Promise.resolve(value) : value
  }

  /**
   * A call that found no usable stored result (`prefix + rest` is its key): it computes, or waits for a
   * computation under way. Counted and reported here, once per call; a refresh is no call's miss.
   */
  protected missed(prefix: string, rest: string): void {
    this.counters.misses++
    const { events } = this.ctx
    if (events.has('miss')) events.emit('miss', { functionKey: this.functionKey, key: prefix + rest })
  }

  /**
   * A valid stored result of a function with freshness strategies: answered if fresh; answered and
   * refreshed in the background if drawn for an early refresh or stale; otherwise computed, with the
   * result kept as the fallback of fail-safe and soft timeout while it may be.
   */
  protected judged(
    self: unknown,
    args: readonly unknown[],
    prefix: string,
    rest: string,
    /** The stamp the result was found under; `undefined` for "this function's current one" (built only if needed). */
    stamp: string | undefined,
    value: unknown,
    async: boolean,
    storedAt: number,
    computeMs: number,
    viaPromise: boolean,
    stored: unknown,
    /** Never-die keeps this call alive in this process (see `KeepAlive.touch`). */
    keptAlive: boolean,
  ): unknown {
    const verdict =
      this.freshness === undefined
        ? 'fresh'
        : this.freshness.judge(storedAt, computeMs, coarseNow(), keptAlive)
    if (verdict === 'fresh' && this.hitLimit === undefined)
      return this.hit(prefix, rest, value, async, viaPromise)
    if ((verdict === 'fresh' || verdict === 'early' || verdict === 'stale') && this.hitLimit !== undefined) {
      const key = prefix + rest
      const counted = this.hitLimit.count(key)
      if (counted === 'drop') this.drop(key)
      else if (counted === 'refresh') void this.refreshSoon(self, args, key, 'hitLimit')
    }
    if (verdict === 'fresh') return this.hit(prefix, rest, value, async, viaPromise)
    if (verdict === 'early' || verdict === 'stale') {
      const { events } = this.ctx
      if (verdict === 'stale') this.counters.stale++
      if (verdict === 'stale' && events.has('stale')) {
        const reason = this.keepAlive === undefined ? 'staleWhileRevalidate' : 'neverDie'
        events.emit('stale', { functionKey: this.functionKey, key: prefix + rest, reason })
      }
      // A refresh already under way (most stale hits of a hot key): nothing to build or schedule.
      if (!this.refreshing.has(rest === '' ? prefix : rest)) {
        void this.refreshSoon(self, args, prefix + rest, verdict === 'early' ? 'early' : 'stale')
      }
      return this.hit(prefix, rest, value, async, viaPromise)
    }
    const key = prefix + rest
    const current = stamp ?? this.currentStamp(key)
    const fallback = verdict === 'fallback' ? { value, async, stamp: current, stored } : undefined
    this.missed(key, '')
    return this.compute(self, args, key, current, true, fallback)
  }

  /** How {@link refreshing} names the call of `key`. */
  protected refreshKeyOf(key: string): string {
    return key
  }

  /** The stamp a result of `key` is valid under now (local coordination: built from the counters). */
  protected currentStamp(_key: string): string {
    throw new Error('unreachable: shared coordination always passes the stamp it read')
  }

  /** Removes a stored result (its hit limit was reached); a failure is reported, the next hit tries again. */
  private drop(key: string): void {
    const { ctx } = this
    try {
      const removed = ctx.store.delete(key)
      if (removed instanceof Promise)
        ctx.track(removed.catch((error: unknown) => ctx.report('hitLimit', error, key)))
    } catch (error) {
      ctx.report('hitLimit', error, key)
    }
  }

  /**
   * Recomputes a call in the background, on a later tick (a synchronous function never runs inside the
   * call that asked), at most once at a time per call key; `close()` waits for it. A failure is reported
   * (`error` event, operation `refresh:<why>`) and leaves the stored result as it is.
   */
  protected refreshSoon(self: unknown, args: readonly unknown[], key: string, why: string): Promise<void> {
    const { ctx } = this
    const refreshKey = this.refreshKeyOf(key)
    if (this.refreshing.has(refreshKey) || ctx.closed) return Promise.resolve()
    this.refreshing.add(refreshKey)
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (ctx.closed ? undefined : this.recompute(self, args, key)))
      .then(
        () => undefined,
        (error: unknown) => ctx.report(`refresh:${why}`, error, key),
      )
      .finally(() => this.refreshing.delete(refreshKey))
    ctx.track(run)
    return run
  }

  /**
   * A computation failed: fail-safe answers the fallback if it covers the error and no invalidation has
   * made the fallback obsolete since it was read; otherwise the error goes on.
   */
  private failedOver(
    error: unknown,
    fallback: Fallback | undefined,
    key: string,
    viaPromise: boolean,
  ): unknown {
    if (fallback === undefined || !this.covers(error, key)) throw error
    // A validity read that fails leaves the function's own error to go on (the read is reported).
    let checked: MaybePromise<boolean>
    try {
      checked = this.fallbackValid(key, fallback)
    } catch {
      throw error
    }
    if (checked instanceof Promise) checked = checked.catch(() => false)
    return chain(checked, (valid) => {
      if (!valid) throw error
      const { events } = this.ctx
      this.counters.stale++
      if (events.has('stale'))
        events.emit('stale', { functionKey: this.functionKey, key, reason: 'failSafe', error })
      return this.answer(fallback.value, fallback.async, viaPromise)
    })
  }

  /** `failSafe.on`, guarded: a predicate that throws is reported and covers nothing (the original error goes on). */
  private covers(error: unknown, key: string): boolean {
    try {
      return this.freshness!.coversError(error)
    } catch (thrown) {
      this.ctx.report('failSafe', thrown, key)
      return false
    }
  }

  /**
   * Soft timeout: the fallback answers if the computation has not settled within `softTimeout` (and no
   * invalidation has made it obsolete meanwhile: then the caller waits for the computation).
   */
  private withSoftTimeout(
    promise: Promise<unknown>,
    fallback: Fallback | undefined,
    key: string,
  ): Promise<unknown> {
    const ms = this.freshness?.softTimeoutMs
    if (fallback === undefined || ms === undefined) return promise
    return new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        // A check that fails (even synchronously, on a synchronous store) leaves the caller waiting for
        // the computation: a throw here, in a timer, would crash the process.
        let checked: MaybePromise<boolean>
        try {
          checked = this.fallbackValid(key, fallback)
        } catch {
          return
        }
        void Promise.resolve(checked).then(
          (valid) => {
            if (!valid || settled) return
            settled = true
            const { events } = this.ctx
            this.counters.stale++
            if (events.has('stale'))
              events.emit('stale', { functionKey: this.functionKey, key, reason: 'softTimeout' })
            resolve(fallback.value)
          },
          () => {}, // cannot tell: the caller waits for the computation
        )
      }, ms)
      timer.unref?.()
      promise.then(
        (value) => {
          clearTimeout(timer)
          if (settled) return
          settled = true
          resolve(value)
        },
        (error: unknown) => {
          clearTimeout(timer)
          if (settled) return
          settled = true
          reject(error)
        },
      )
    })
  }

  /**
   * The backend could not be read: `raise` throws, `silent` computes without the cache. `kind`: a caller's
   * call (then one miss), a `refresh()` or a background refresh (no caller's miss).
   */
  protected readFailed(
    error: unknown,
    self: unknown,
    args: readonly unknown[],
    key: string,
    kind: 'call' | 'refresh' | 'background' = 'call',
  ): unknown {
    if (kind === 'call') this.missed(key, '')
    if (this.ctx.onError === 'raise') throw error
    return this.runFunction(self, args, key, kind === 'background')
  }

  // ---- computing and storing ----------------------------------------------------------------------

  /**
   * Computes a call and stores its result (a miss). `fallback`: a stored result past its time, which
   * fail-safe answers if the computation fails and soft timeout if it is slow.
   */
  protected compute(
    self: unknown,
    args: readonly unknown[],
    key: string,
    stamp: string,
    join: boolean,
    fallback?: Fallback,
    /** A background refresh (stale-while-revalidate, never-die…), not a caller's computation. */
    background = false,
  ): unknown {
    const { ctx } = this
    const { flights } = ctx.state
    // The start of the window a store on a provisional generation must fit in (invalidation-markers.ts):
    // the generations were read at most one time bound ago, so counting from then costs the hit path nothing.
    const startedAt = performance.now() - ctx.timeoutMs
    if (join) {
      const running = flights.joinable(key, stamp)
      if (running !== undefined) {
        const answered =
          fallback === undefined
            ? running
            : running.catch((error: unknown) => this.failedOver(error, fallback, key, true))
        return this.withSoftTimeout(answered as Promise<unknown>, fallback, key)
      }
    }
    // The result generation this stamp was built on, fixed now: the store writes the entry only if the
    // generation still holds it (creating it if absent), never with a token handed out later.
    const guard = this.guardFor(key, stamp)
    if (join) {
      const locked = this.computeUnderLock(self, args, key, stamp, startedAt, guard, background)
      if (locked !== undefined) {
        const answered =
          fallback === undefined
            ? locked
            : locked.catch((error: unknown) => this.failedOver(error, fallback, key, true))
        return this.withSoftTimeout(answered, fallback, key)
      }
      // A lock this call cannot wait for (a synchronous function on a synchronous shared store): taken if
      // free; held by another process, the kept result answers if there is one, else this call computes
      // too (waiting would block the thread).
      const claimed = this.claimNow(key)
      if (claimed === 'held') {
        let valid = false
        try {
          valid = fallback !== undefined && this.fallbackValid(key, fallback) === true
        } catch (error) {
          // Reported by the store; `silent` computes, as after any failed read.
          if (ctx.onError === 'raise') {
            this.settleGuard(guard)
            throw error
          }
        }
        if (valid && fallback !== undefined) {
          this.counters.stale++
          if (ctx.events.has('stale'))
            ctx.events.emit('stale', { functionKey: this.functionKey, key, reason: 'lock' })
          this.settleGuard(guard)
          return this.answer(fallback.value, fallback.async, false)
        }
      } else if (claimed !== undefined) {
        let out: unknown
        try {
          out = this.computeNow(self, args, key, stamp, startedAt, guard, fallback, background)
        } catch (error) {
          claimed()
          throw error
        }
        if (isPromiseLike(out)) Promise.resolve(out).then(claimed, claimed)
        else claimed()
        return out
      }
    }
    return this.computeNow(self, args, key, stamp, startedAt, guard, fallback, background)
  }

  /**
   * Takes the cross-process lock of `key` without waiting, where a call cannot wait for it: its release,
   * `'held'` when another process holds it, `undefined` when there is no such lock (or it could not be
   * taken: then the call computes without it).
   */
  protected claimNow(_key: string): (() => void) | 'held' | undefined {
    return undefined
  }

  /** Runs the function now and stores its result (the part of a miss after single-flight and locks). */
  private computeNow(
    self: unknown,
    args: readonly unknown[],
    key: string,
    stamp: string,
    startedAt: number,
    guard: FlightGuard | undefined,
    fallback: Fallback | undefined,
    background: boolean,
  ): unknown {
    const { ctx } = this
    const { flights } = ctx.state
    const domainGeneration = ctx.domainGeneration.value
    const functionGeneration = this.functionGeneration.value
    const computeStartedAt = performance.now()
    let invoked: { result: unknown; poisoned: boolean }
    try {
      invoked = this.invoke(self, args, key, guard, background)
    } catch (error) {
      return this.failedOver(error, fallback, key, false)
    }
    const { result, poisoned } = invoked
    if (!isPromiseLike(result)) {
      const computeMs = performance.now() - computeStartedAt
      if (ctx.store.sync) {
        const done = Flights.completed(
          stamp,
          domainGeneration,
          functionGeneration,
          poisoned,
          startedAt,
          guard,
        )
        return chain(this.store(key, done, result, false, computeMs, args), () => result)
      }
      // A synchronous function on an asynchronous backend: its store takes a round trip, and callers that
      // miss meanwhile must join it rather than compute again (single-flight).
      const flight = flights.start(
        key,
        stamp,
        domainGeneration,
        functionGeneration,
        poisoned,
        startedAt,
        guard,
      )
      const stored = Promise.resolve(this.store(key, flight, result, false, computeMs, args)).then(
        () => result,
      )
      flight.promise = stored
      return stored
    }
    // Registered once the promise exists: nothing could have joined before.
    const flight = flights.start(key, stamp, domainGeneration, functionGeneration, poisoned, startedAt, guard)
    const promise = Promise.resolve(result).then(
      (value) =>
        chain(this.store(key, flight, value, true, performance.now() - computeStartedAt, args), () => value),
      (error: unknown) => {
        this.finishFlight(key, flight)
        // Fail-safe covers the function's failure only, never a failure to store its result.
        if (fallback !== undefined) return this.failedOver(error, fallback, key, true)
        throw error
      },
    )
    flight.promise = promise
    return this.withSoftTimeout(promise, fallback, key)
  }

  /** A computation is over (stored, discarded or failed): out of the registry, its guard settled. */
  protected finishFlight(key: string, flight: Flight): void {
    this.ctx.state.flights.finish(key, flight)
    this.settleGuard(flight.guard)
  }

  /** Runs the function and stores its result (the body of a locked computation). */
  protected async runAndStore(
    self: unknown,
    args: readonly unknown[],
    key: string,
    flight: Flight,
    background: boolean,
  ): Promise<unknown> {
    let value: unknown
    let async = false
    const computeStartedAt = performance.now()
    try {
      const { result, poisoned } = this.invoke(self, args, key, flight.guard, background)
      async = isPromiseLike(result)
      if (poisoned) flight.poisoned = true
      value = await result
    } catch (error) {
      this.finishFlight(key, flight)
      throw error
    }
    await this.store(key, flight, value, async, performance.now() - computeStartedAt, args)
    return value
  }

  /**
   * Calls the function. `poisoned`: an invalidation was made while it ran synchronously (only the function
   * itself can make one), so its result may predate it. A synchronous throw forgets any pending generation.
   */
  private invoke(
    self: unknown,
    args: readonly unknown[],
    key: string,
    guard: FlightGuard | undefined,
    background: boolean,
  ): { result: unknown; poisoned: boolean } {
    const { state } = this.ctx
    const invalidationsBefore = state.invalidations
    let result: unknown
    try {
      result = this.runFunction(self, args, key, background)
    } catch (error) {
      this.settleGuard(guard)
      throw error
    }
    // What the function returns decides, from now on, whether its calls are promises (a plain function
    // that returns one): a later synchronous failure then rejects as well.
    if (!this.knownAsync && isPromiseLike(result)) this.knownAsync = true
    return { result, poisoned: state.invalidations !== invalidationsBefore }
  }

  /**
   * Runs the function itself, through the instrumentation hooks if any, and counts it: every computation
   * (a miss, a refresh, a background refresh, a call computed after a failed read) goes through here. A
   * thenable that is not a promise is turned into one here, so that it is subscribed to once (a lazy query
   * builder runs its query on each `then`).
   */
  private runFunction(self: unknown, args: readonly unknown[], key: string, background: boolean): unknown {
    const { ctx } = this
    this.counters.computations++
    const startedAt = performance.now()
    let result: unknown
    try {
      result =
        ctx.computeHooks.length === 0
          ? this.fn.apply(self, args as unknown[])
          : this.runHooked(self, args, key, 0, background)
    } catch (error) {
      this.computed(key, startedAt, error, true, background)
      throw error
    }
    if (!isPromiseLike(result)) {
      this.computed(key, startedAt, undefined, false, background)
      return result
    }
    const promise = result instanceof Promise ? result : Promise.resolve(result)
    promise.then(
      () => this.computed(key, startedAt, undefined, false, background),
      (error: unknown) => this.computed(key, startedAt, error, true, background),
    )
    return promise
  }

  /**
   * Runs the function inside hooks `at..` (the first one outermost), holding each hook to its contract
   * so that no plug-in can change what a call answers: the function runs once, whatever the hook does;
   * the call answers what the function returned or throws what it threw. A hook that breaks the contract
   * (skips `run`, calls it twice, answers something else, swallows the function's error, throws after
   * it) is reported (`error` event, operation `instrumentation`) and overruled.
   */
  private runHooked(
    self: unknown,
    args: readonly unknown[],
    key: string,
    at: number,
    background: boolean,
  ): unknown {
    const { ctx } = this
    const hook = ctx.computeHooks[at]!
    const broken = (what: string, cause?: unknown) =>
      ctx.report(
        'instrumentation',
        new CallbackError(`An instrumentation's compute hook ${what}`, cause),
        key,
      )
    // Written by `run`, which the hook calls: an object, so the checks after the hook read what it did.
    const ran: { state: 'not run' | 'returned' | 'threw'; returned?: unknown; thrown?: unknown } = {
      state: 'not run',
    }
    const run = (): unknown => {
      if (ran.state !== 'not run') {
        broken('called run() twice (the function ran once)', new Error('run() called twice'))
        if (ran.state === 'threw') throw ran.thrown
        return ran.returned
      }
      try {
        if (at < ctx.computeHooks.length - 1) {
          ran.returned = this.runHooked(self, args, key, at + 1, background)
        } else {
          // Hooks see a promise, never a lazy thenable they would run once more by subscribing to it.
          const out = this.fn.apply(self, args as unknown[])
          ran.returned = isPromiseLike(out) && !(out instanceof Promise) ? Promise.resolve(out) : out
        }
        ran.state = 'returned'
        return ran.returned
      } catch (error) {
        ran.state = 'threw'
        ran.thrown = error
        throw error
      }
    }
    const info: ComputeInfo = {
      domainKey: ctx.domainKey,
      functionKey: this.functionKey,
      key,
      backend: ctx.store.backend.name,
      refresh: background,
    }
    let answered: unknown
    try {
      answered = hook(info, run)
    } catch (error) {
      if (ran.state === 'threw' && error === ran.thrown) throw error
      if (ran.state === 'not run') {
        // Failed before running the function: the function runs without it.
        broken('threw before calling run()', error)
        return run()
      }
      broken('threw after run()', error)
      if (ran.state === 'threw') throw ran.thrown
      return ran.returned
    }
    if (ran.state === 'not run') {
      broken('returned without calling run()', new Error('run() not called'))
      return run()
    }
    if (ran.state === 'threw') {
      broken("swallowed the function's error", ran.thrown)
      throw ran.thrown
    }
    if (answered !== ran.returned)
      broken("answered something else than run()'s result", new Error('answer replaced'))
    return ran.returned
  }

  /** A computation settled: its time counted, and the `compute` event. */
  private computed(
    key: string,
    startedAt: number,
    error: unknown,
    failed: boolean,
    background: boolean,
  ): void {
    const ms = performance.now() - startedAt
    const { counters } = this
    counters.computeMs += ms
    if (failed) counters.failures++
    const { events } = this.ctx
    if (events.has('compute')) {
      events.emit(
        'compute',
        failed
          ? { functionKey: this.functionKey, key, ms, refresh: background, error }
          : { functionKey: this.functionKey, key, ms, refresh: background },
      )
    }
  }

  /**
   * Stores a computed value unless an invalidation happened since the computation started. Under local
   * coordination that is checked here; under shared coordination the stamp written with the value is
   * already outdated, so readers ignore it whatever the order of writes.
   */
  protected store(
    key: string,
    flight: Flight,
    value: unknown,
    async: boolean,
    computeMs: number,
    args: readonly unknown[],
  ): MaybePromise<void> {
    const { ctx } = this
    // The write of a pending result generation goes with the entry; either way it is settled after.
    let pending = flight.guard
    const finish = () => this.finishFlight(key, flight)
    // Past the store window a guarded write could recreate a generation an invalidation marker held
    // (the marker may have expired since): a provisional one is given up, an existing one is written
    // plainly (its result is then only accepted while that generation still holds the token).
    const late = pending !== undefined && performance.now() - flight.startedAt > PROVISIONAL_STORE_WINDOW_MS
    if (late && !pending!.provisional) pending = undefined
    if (
      flight.poisoned ||
      // Too slow to store on a provisional generation: an invalidation marker may have expired since.
      (late && pending !== undefined) ||
      this.outdated(flight)
    ) {
      finish()
      if (ctx.events.has('discard')) ctx.events.emit('discard', { functionKey: this.functionKey, key })
      return
    }
    if (
      (this.slowCalls !== undefined && !this.slowCalls.slow(computeMs)) ||
      (this.cacheIf !== undefined && !this.accepts(value, args, key))
    ) {
      finish()
      // A refused result must not leave the one it was to replace answering: a background refresh's (or,
      // under local coordination, a refresh()'s) old result goes.
      if (this.refreshing.has(this.refreshKeyOf(key)) || ctx.coordination === 'local') this.drop(key)
      return
    }
    if (isGeneratorObject(value)) {
      // A generator object would be served exhausted (or fail to encode): only generator functions have
      // their sequence cached.
      finish()
      const error = new NotSupportedError(
        `"${this.functionKey}" returned a generator object; wrap the generator function itself (function* or async function*) to cache its sequence`,
      )
      ctx.report('encode', error, key)
      if (ctx.onError === 'raise') throw error
      return
    }
    let stored: unknown
    const storedAt = Date.now()
    try {
      stored = ctx.inProcessValues
        ? this.liveEntry(key, value, async, flight, storedAt, computeMs)
        : ctx.values.encodeResult(value, flight.stamp, async, { storedAt, computeMs }, key)
    } catch (error) {
      finish()
      ctx.report('encode', error, key)
      if (ctx.onError === 'raise') throw error
      return
    }
    const done = () => {
      finish()
      this.keepAlive?.stored(key.slice(this.entryPrefix.length), storedAt)
      this.hitLimit?.restart(key)
      if (ctx.events.has('set')) ctx.events.emit('set', { functionKey: this.functionKey, key })
    }
    const failed = (error: unknown) => {
      finish()
      if (ctx.onError === 'raise') throw error
    }
    let write: MaybePromise<void>
    try {
      write = this.write(key, stored, pending)
    } catch (error) {
      return failed(error)
    }
    if (write instanceof Promise) return write.then(done, failed)
    done()
  }

  /** A result as an in-process backend keeps it, carrying never-die's record of its call. */
  private liveEntry(
    key: string,
    value: unknown,
    async: boolean,
    flight: Flight,
    storedAt: number,
    computeMs: number,
  ): LiveEntry {
    const entry = new LiveEntry(
      value,
      async,
      flight.domainGeneration,
      flight.functionGeneration,
      storedAt,
      computeMs,
    )
    if (this.keepAlive !== undefined) entry.kept = this.keepAlive.recordOf(key.slice(this.entryPrefix.length))
    return entry
  }

  /** `cacheIf` on a result; a predicate that throws is reported and counts as "do not store". */
  private accepts(value: unknown, args: readonly unknown[], key: string): boolean {
    try {
      return this.cacheIf!(value, ...args) === true
    } catch (error) {
      this.ctx.report('cacheIf', error, key)
      return false
    }
  }
}

const FRESHNESS_OPTIONS = [
  'staleWhileRevalidate',
  'failSafe',
  'softTimeout',
  'earlyRefresh',
  'neverDie',
] as const

/** The freshness strategies a `wrap` asks for, checked; `undefined` when it asks for none. */
function freshnessOf(
  options: WrapOptions<readonly unknown[]>,
  ttlMs: number | undefined,
  where: string,
): FreshnessPolicy | undefined {
  const asked = FRESHNESS_OPTIONS.filter((name) => options[name] !== undefined && options[name] !== false)
  if (asked.length === 0) return undefined
  if (ttlMs === undefined) {
    throw new InvalidOptionError(
      `${where}: ${asked.join(', ')} act when a result reaches its ttl, and this function has none: give it a ttl (or the cache a defaultTtl)`,
    )
  }
  return new FreshnessPolicy(ttlMs, options, where)
}
