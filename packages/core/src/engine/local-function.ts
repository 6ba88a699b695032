import type { BoundScope } from '../backend/store.js'
import type { Flight, FlightGuard } from '../coordination/flights.js'
import { coarseNow } from '../freshness/coarse-clock.js'
import { boundArgumentKey } from '../keys/key-layout.js'
import { LiveEntry } from '../live-entry.js'
import type { MaybePromise } from '../maybe-promise.js'
import { type Fallback, FunctionEngine } from './function-engine.js'

/**
 * A wrapped function under local coordination: a synchronous store that no other process uses and that
 * does not outlive this one (the memory backend). Generations are counters in this process, so a hit is
 * one read and an invalidation moves a counter; a computation overtaken by an invalidation does not store.
 */
export class LocalFunction extends FunctionEngine {
  /** This function's results, seen through the backend's own view where it has one (a hit then hashes only the argument key). */
  private scopedView: BoundScope | undefined

  /**
   * Made on first use, not when the engine is: an invalidation of a function that is not wrapped here
   * builds an engine too, and must not make the backend index a namespace it will never read.
   */
  private get view(): BoundScope {
    if (this.scopedView === undefined) this.scopedView = this.ctx.store.rawScope(this.entryPrefix)
    return this.scopedView
  }

  entryKey(self: unknown, args: readonly unknown[]): string {
    return this.entryPrefix + boundArgumentKey(this.deriveKey(self, args))
  }

  call(self: unknown, args: readonly unknown[]): unknown {
    if (this.ctx.closed) this.ctx.assertOpen()
    const argumentKey = boundArgumentKey(this.deriveKey(self, args))
    if (this.rateLimiter !== undefined) {
      return this.withinRateLimit(self, args, argumentKey, () => this.callLocal(self, args, argumentKey))
    }
    return this.callLocal(self, args, argumentKey)
  }

  protected override refreshKeyOf(key: string): string {
    return key.slice(this.entryPrefix.length)
  }

  protected override currentStamp(key: string): string {
    return this.localStamp(key.slice(this.entryPrefix.length))
  }

  /** The fallback is the very entry the store holds, under the current generations (see `Fallback`). */
  protected fallbackValid(key: string, fallback: Fallback): boolean {
    const argumentKey = key.slice(this.entryPrefix.length)
    if (this.localStamp(argumentKey) !== fallback.stamp) return false
    let now: unknown
    try {
      now = this.view.get(argumentKey)
    } catch {
      return false
    }
    // The very entry (in-process values), or the same bytes (a byte-storing backend such as SQLite
    // `:memory:` hands out a new buffer at each read).
    if (now === fallback.stored) return true
    const kept = fallback.stored
    return now instanceof Uint8Array && kept instanceof Uint8Array && Buffer.compare(now, kept) === 0
  }

  protected recompute(self: unknown, args: readonly unknown[], key: string): unknown {
    const stamp = this.localStamp(key.slice(this.entryPrefix.length))
    return this.compute(self, args, key, stamp, true, undefined, true)
  }

  /** Running computations of the same call are poisoned (they will not store), then this one computes. */
  refresh(self: unknown, args: readonly unknown[]): unknown {
    this.ctx.assertOpen()
    const key = this.entryKey(self, args)
    this.ctx.state.flights.poison(key)
    return this.compute(self, args, key, this.localStamp(key.slice(this.entryPrefix.length)), false)
  }

  /** The hit path of the memory backend: one lookup, no promise, no allocation beyond the key. */
  private callLocal(self: unknown, args: readonly unknown[], argumentKey: string): unknown {
    const { ctx } = this
    const view = this.view
    let stored: unknown
    try {
      // Raw reads, no adapter wrapper: this is the memory hit path, and a throw is caught right here.
      stored = view.get(argumentKey)
    } catch (error) {
      return this.readFailed(
        ctx.failure('get', error, this.entryPrefix + argumentKey),
        self,
        args,
        this.entryPrefix + argumentKey,
      )
    }
    if (stored !== undefined) {
      if (stored instanceof LiveEntry) {
        if (
          stored.domainGeneration === ctx.domainGeneration.value &&
          stored.functionGeneration === this.functionGeneration.value
        ) {
          if (!this.judging) return this.hit(this.entryPrefix, argumentKey, stored.value, stored.async, false)
          // Never-die's calls are kept by argument key; the entry carries its call's record (no lookup).
          const now = coarseNow()
          const keptAlive =
            this.keepAlive !== undefined && this.keepAlive.touchEntry(stored, argumentKey, self, args, now)
          // The common case under freshness strategies, inline: fresh whatever they say.
          const { freshness } = this
          if (
            freshness !== undefined &&
            this.hitLimit === undefined &&
            now < freshness.surelyFreshUntil(stored.storedAt, stored.computeMs)
          ) {
            return this.hit(this.entryPrefix, argumentKey, stored.value, stored.async, false)
          }
          return this.judged(
            self,
            args,
            this.entryPrefix,
            argumentKey,
            undefined,
            stored.value,
            stored.async,
            stored.storedAt,
            stored.computeMs,
            false,
            stored,
            keptAlive,
          )
        }
      } else {
        const decoded = this.decode(stored, this.entryPrefix + argumentKey)
        const stamp = this.localStamp(argumentKey)
        if (decoded !== undefined && decoded.stamp === stamp) {
          if (!this.judging)
            return this.hit(this.entryPrefix, argumentKey, decoded.value, decoded.async, false)
          const keptAlive =
            this.keepAlive !== undefined && this.keepAlive.touch(argumentKey, self, args, coarseNow())
          const { value, async, storedAt, computeMs } = decoded
          return this.judged(
            self,
            args,
            this.entryPrefix,
            argumentKey,
            stamp,
            value,
            async,
            storedAt,
            computeMs,
            false,
            stored,
            keptAlive,
          )
        }
      }
    }
    this.keepAlive?.touch(argumentKey, self, args, coarseNow())
    this.missed(this.entryPrefix, argumentKey)
    return this.compute(self, args, this.entryPrefix + argumentKey, this.localStamp(argumentKey), true)
  }

  /**
   * The stamp of a result under local coordination. On a byte-storing backend it names the argument key
   * too: the generations alone are the same for every argument, so an entry of another argument (a
   * swapped row or file) would otherwise pass as this one's. Under shared coordination the per-argument
   * result generation already does that.
   */
  private localStamp(argumentKey: string): string {
    return `${this.ctx.domainGeneration.value}.${this.functionGeneration.value}.${argumentKey}`
  }

  protected guardFor(): FlightGuard | undefined {
    return undefined
  }

  protected computeUnderLock(): undefined {
    // In-process single-flight already runs one computation per key: there is no other process to wait for.
    return undefined
  }

  protected outdated(flight: Flight): boolean {
    const { ctx } = this
    return (
      flight.domainGeneration !== ctx.domainGeneration.value ||
      flight.functionGeneration !== this.functionGeneration.value
    )
  }

  protected write(key: string, stored: unknown): MaybePromise<void> {
    const { store } = this.ctx
    const { view } = this
    return store.io('set', () => view.set(key.slice(this.entryPrefix.length), stored, this.storeTtlMs), key)
  }

  protected settleGuard(): void {}
}
