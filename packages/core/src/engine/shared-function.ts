import type { CacheContext } from '../context.js'
import type { Flight, FlightGuard } from '../coordination/flights.js'
import { randomToken } from '../coordination/random-token.js'
import { SharedGenerations } from '../coordination/shared-generations.js'
import { coarseNow } from '../freshness/coarse-clock.js'
import { boundArgumentKey, closeGroup } from '../keys/key-layout.js'
import { chain, type MaybePromise } from '../maybe-promise.js'
import type { AnyFunction, WrapOptions } from '../wrap-options.js'
import { lockThenCompute } from './compute-under-lock.js'
import { type Fallback, FunctionEngine } from './function-engine.js'

/** How far apart the clocks of processes sharing a store may be, for judging "stored since". */
const CLOCK_SLACK_MS = 250

/**
 * A wrapped function under shared coordination: a store other processes may use, or one that outlives
 * this process (SQLite, Redis, files). A result carries the stamp of the three generations it was computed
 * under (domain, function, result), and one read fetches it with them: it is a hit only if they still
 * match (see `coordination/shared-generations.ts`).
 */
export class SharedFunction extends FunctionEngine {
  readonly generations: SharedGenerations
  /** Where this function's cross-process computation locks live. */
  readonly lockPrefix: string

  constructor(
    ctx: CacheContext,
    functionKey: string,
    fn: AnyFunction,
    options: WrapOptions<readonly unknown[]>,
  ) {
    super(ctx, functionKey, fn, options)
    this.generations = new SharedGenerations(
      ctx,
      this.entryPrefix,
      this.resultGenerationNamespace,
      this.functionGenerationKey,
      this.storeTtlMs,
      ctx.store.writesGuarded,
    )
    this.lockPrefix = ctx.layout.computationLockNamespace(functionKey, this.version)
  }

  entryKey(self: unknown, args: readonly unknown[]): string {
    return this.entryPrefix + closeGroup(boundArgumentKey(this.deriveKey(self, args)))
  }

  call(self: unknown, args: readonly unknown[]): unknown {
    if (this.ctx.closed) this.ctx.assertOpen()
    const key = this.entryKey(self, args)
    const keptAlive =
      this.keepAlive !== undefined &&
      this.keepAlive.touch(key.slice(this.entryPrefix.length), self, args, coarseNow())
    if (this.rateLimiter !== undefined) {
      return this.withinRateLimit(self, args, key.slice(this.entryPrefix.length), () =>
        this.callShared(self, args, key, false, undefined, keptAlive),
      )
    }
    return this.callShared(self, args, key, false, undefined, keptAlive)
  }

  protected override ttlChanged(storeTtlMs: number): void {
    this.generations.setTtl(storeTtlMs)
  }

  /** The generations are still those the fallback was stamped with (one read, only on this path). */
  protected fallbackValid(key: string, fallback: Fallback): MaybePromise<boolean> {
    return chain(this.ctx.store.getMany(this.generations.generationKeys(key)), (values) => {
      return this.generations.stampOf(values, 0) === fallback.stamp
    })
  }

  /** Reads the generations (not the entry), then computes, joining a computation already running. */
  protected recompute(self: unknown, args: readonly unknown[], key: string): unknown {
    return this.callShared(self, args, key, true, true, false, true)
  }

  /**
   * Computes and stores without reading the cache (the seed's skip-cache). A refresh supersedes every
   * computation of the same call that started before it, in this process and in others: the refresh
   * first writes a new result generation (as a result invalidation does), so their late results carry a
   * stamp no reader accepts.
   */
  refresh(self: unknown, args: readonly unknown[], supersede: (key: string) => MaybePromise<void>): unknown {
    this.ctx.assertOpen()
    const key = this.entryKey(self, args)
    // If the new generation cannot be written, the refresh cannot safely store: it follows the error
    // policy like a failed read (`silent` computes and returns without caching).
    let superseded: MaybePromise<void>
    try {
      superseded = supersede(key)
    } catch (error) {
      return this.readFailed(error, self, args, key, 'refresh')
    }
    if (superseded instanceof Promise) {
      return superseded.then(
        () => this.callShared(self, args, key, true),
        (error: unknown) => this.readFailed(error, self, args, key, 'refresh'),
      )
    }
    return this.callShared(self, args, key, true)
  }

  /**
   * Shared coordination: one read fetches the entry with the three generations it must match (result,
   * function, domain). Absent generations are created first, so an entry is always stamped with tokens.
   */
  private callShared(
    self: unknown,
    args: readonly unknown[],
    key: string,
    skipRead: boolean,
    join = !skipRead,
    keptAlive = false,
    /** A background refresh (`recompute`), rather than a caller's call or `refresh()`. */
    background = false,
  ): unknown {
    const { ctx } = this
    const kind = !skipRead ? 'call' : background ? 'background' : 'refresh'
    const generationKeys = this.generations.generationKeys(key)
    const readKeys = skipRead
      ? generationKeys
      : [key, generationKeys[0]!, generationKeys[1]!, generationKeys[2]!]
    let read: MaybePromise<unknown[]>
    try {
      read = ctx.store.getMany(readKeys)
    } catch (error) {
      return this.readFailed(error, self, args, key, kind)
    }
    const viaPromise = read instanceof Promise
    const afterRead = (values: unknown[]): unknown => {
      const stored = skipRead ? undefined : values[0]
      const useStamp = (stamp: string): unknown => {
        if (stored !== undefined) {
          const decoded = this.decode(stored, key)
          if (decoded !== undefined && decoded.stamp === stamp) {
            // Inside a promise callback the value needs no promise of its own (that would cost two more ticks).
            if (!this.judging) return this.hit(key, '', decoded.value, decoded.async, viaPromise)
            const { value, async, storedAt, computeMs } = decoded
            return this.judged(
              self,
              args,
              key,
              '',
              stamp,
              value,
              async,
              storedAt,
              computeMs,
              viaPromise,
              stored,
              keptAlive,
            )
          }
        }
        if (!skipRead) this.missed(key, '')
        return this.compute(self, args, key, stamp, join, undefined, background)
      }
      // Creating a missing generation is backend I/O too: its failure follows the error policy.
      let stamp: MaybePromise<string>
      try {
        stamp = this.generations.ensureGenerations(generationKeys, values, skipRead ? 0 : 1)
      } catch (error) {
        return this.readFailed(error, self, args, key, kind)
      }
      if (stamp instanceof Promise) {
        return stamp.then(useStamp, (error: unknown) => this.readFailed(error, self, args, key, kind))
      }
      return useStamp(stamp)
    }
    if (read instanceof Promise) {
      // Under way until it settles (close() waits for it): a counter on the hit path, a promise only when
      // the call goes on to create generations or compute.
      ctx.callStarted()
      return read.then(
        (values) => {
          let out: unknown
          try {
            out = afterRead(values)
          } catch (error) {
            ctx.callEnded()
            throw error
          }
          if (out instanceof Promise) out.then(ctx.callEnded, ctx.callEnded)
          else ctx.callEnded()
          return out
        },
        (error: unknown) => {
          ctx.callEnded()
          return this.readFailed(error, self, args, key, kind)
        },
      )
    }
    return afterRead(read)
  }

  /** See `LockHost.restamp`: only a provisional guard can be overtaken by a generation created meanwhile. */
  private async restamp(key: string, flight: Flight): Promise<Flight> {
    const { ctx } = this
    if (flight.guard === undefined || !flight.guard.provisional) return flight
    const values = await ctx.store.getMany(this.generations.generationKeys(key))
    const stamp = this.generations.stampOf(values, 0)
    const token = ctx.values.decodeToken(values[0])
    if (stamp === undefined || token === undefined || token === flight.guard.token) return flight
    // Nothing was computed yet: the computation starts now, on the generations as they are.
    const fresh = ctx.state.flights.start(
      key,
      stamp,
      ctx.domainGeneration.value,
      this.functionGeneration.value,
      flight.poisoned,
      performance.now() - ctx.timeoutMs,
      { key: flight.guard.key, token, provisional: false },
    )
    fresh.promise = flight.promise
    this.finishFlight(key, flight)
    return fresh
  }

  /** The valid stored result of `key` under the current generations, if any (the hit path, as a value). */
  async lookUp(key: string, since?: number): Promise<{ value: unknown; async: boolean } | undefined> {
    const values = await this.ctx.store.getMany([key, ...this.generations.generationKeys(key)])
    const stamp = this.generations.stampOf(values, 1)
    if (values[0] === undefined || stamp === undefined) return undefined
    const decoded = this.decode(values[0], key)
    if (decoded === undefined || decoded.stamp !== stamp) return undefined
    // Under freshness strategies a result found must have been stored since this computation began (a
    // little clock slack between processes aside): the one kept past its ttl, or the one a background
    // refresh is replacing, is what this computation is for.
    if (this.freshness !== undefined && since !== undefined && decoded.storedAt < since - CLOCK_SLACK_MS) {
      return undefined
    }
    return decoded
  }

  protected guardFor(key: string, stamp: string): FlightGuard | undefined {
    return this.generations.guarded ? this.generations.guardOf(key, stamp) : undefined
  }

  protected computeUnderLock(
    self: unknown,
    args: readonly unknown[],
    key: string,
    stamp: string,
    startedAt: number,
    guard: FlightGuard | undefined,
    background: boolean,
  ): Promise<unknown> | undefined {
    const { lock, ctx } = this
    if (lock === undefined) return undefined
    // A call that cannot wait (a synchronous function on a synchronous store) takes the lock without
    // waiting instead (see `claimNow`).
    if (ctx.store.sync && !this.knownAsync) return undefined
    const flight = ctx.state.flights.start(
      key,
      stamp,
      ctx.domainGeneration.value,
      this.functionGeneration.value,
      false,
      startedAt,
      guard,
    )
    const promise = lockThenCompute(this.lockHost, self, args, key, lock, flight, background)
    flight.promise = promise
    return promise
  }

  protected override claimNow(key: string): (() => void) | 'held' | undefined {
    const { lock, ctx } = this
    if (lock === undefined || !ctx.store.sync || this.knownAsync) return undefined
    const lockKey = this.lockKeyOf(key)
    const owner = ctx.values.encodeToken(randomToken())
    try {
      if (ctx.store.setNx(lockKey, owner, lock.ttlMs) !== true) return 'held'
    } catch (error) {
      ctx.report('lock', error, key)
      return undefined
    }
    return () => {
      try {
        ctx.store.deleteIfEquals(lockKey, owner)
      } catch (error) {
        // It expires after its ttl.
        ctx.report('lock', error, key)
      }
    }
  }

  /** The cross-process computation lock of a result key. */
  private lockKeyOf(key: string): string {
    return this.lockPrefix + key.slice(this.entryPrefix.length)
  }

  /** What the cross-process lock needs of this function. */
  private readonly lockHost = {
    ctx: this.ctx,
    lockKey: (key: string) => this.lockKeyOf(key),
    lookUp: (key: string, since: number) => this.lookUp(key, since),
    runAndStore: (
      self: unknown,
      args: readonly unknown[],
      key: string,
      flight: Flight,
      background: boolean,
    ) => this.runAndStore(self, args, key, flight, background),
    finish: (key: string, flight: Flight) => this.finishFlight(key, flight),
    restamp: (key: string, flight: Flight) => this.restamp(key, flight),
    // The caller counted its miss when it found no result: the one another process stored is its answer.
    answer: (value: unknown, async: boolean) => this.answer(value, async, true),
  }

  protected outdated(flight: Flight): boolean {
    return this.generations.overtaken(flight.stamp)
  }

  protected write(key: string, stored: unknown, guard: FlightGuard | undefined): MaybePromise<void> {
    const written = this.writeEntry(key, stored, guard)
    if (this.freshness === undefined || !this.ctx.store.hasExpire) return written
    // A result kept fresh by refreshes (never-die, stale-while-revalidate…) keeps its generation as long:
    // created with twice the result's ttl and never rewritten while it holds, it would expire under a
    // live result, and every caller would then wait for a computation.
    return chain(written, () =>
      chain(this.ctx.store.expire(this.resultGenerationKey(key), this.storeTtlMs! * 2), () => undefined),
    )
  }

  private writeEntry(key: string, stored: unknown, guard: FlightGuard | undefined): MaybePromise<void> {
    const { ctx } = this
    if (guard === undefined) return ctx.store.set(key, stored, this.storeTtlMs)
    return ctx.store.setGuarded(
      {
        key: guard.key,
        value: ctx.values.encodeToken(guard.token),
        // A result generation lives a little longer than its entry (as when created first).
        ttlMs: this.storeTtlMs === undefined ? undefined : this.storeTtlMs * 2,
        bookkeeping: true,
      },
      { key, value: stored, ttlMs: this.storeTtlMs },
    )
  }

  protected settleGuard(guard: FlightGuard | undefined): void {
    this.generations.settleGeneration(guard)
  }
}
