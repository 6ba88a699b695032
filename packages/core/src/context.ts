import type { AnyBackend, BackendEntry } from './backend/contract.js'
import { type BackendState, backendState, type GenerationCounter } from './coordination/backend-state.js'
import { BackendError, ClosedError, NotSupportedError, RapideError, SerializationError } from './errors.js'
import type { CacheEvents, EventHub } from './events.js'
import type { KeyLayout } from './keys/key-layout.js'
import { LiveValue } from './live-entry.js'
import { chain, type MaybePromise } from './maybe-promise.js'
import {
  decodeCounter,
  decodeEnvelope,
  decodeStamp,
  decodeText,
  encodeEnvelope,
  encodeText,
} from './serialization/envelope.js'
import type { Serializer } from './serialization/serializer.js'
import { withTimeout } from './timeout.js'

export type ErrorPolicy = 'silent' | 'raise'

/**
 * Everything a cache's parts share: the backend and how to talk to it safely (time bound, typed errors,
 * events), how values are stored, and how invalidation is coordinated.
 *
 * Coordination is `local` when the backend is synchronous, unshared and not persistent (the memory
 * backend): generations are counters in this process and a hit costs one backend read. Otherwise it is
 * `shared`: generations are random tokens stored in the backend, read together with the entry.
 */
export class CacheContext {
  readonly state: BackendState
  readonly local: boolean
  readonly live: boolean
  readonly domainGeneration: GenerationCounter
  /** The backend answers with promises: every public call then returns one, and never throws. */
  readonly async: boolean
  /** The backend fails its own operations within `timeoutMs`: no timer of ours is needed. */
  private readonly selfBounded: boolean
  closed = false
  private readonly closeListeners: (() => void)[] = []

  constructor(
    readonly backend: AnyBackend,
    readonly domainKey: string,
    readonly layout: KeyLayout,
    readonly serializer: Serializer,
    readonly events: EventHub,
    readonly onError: ErrorPolicy,
    readonly timeoutMs: number,
    readonly defaultTtlMs: number | undefined,
  ) {
    const { capabilities } = backend
    this.state = backendState(backend)
    this.local = capabilities.sync && !capabilities.shared && !capabilities.persistent
    this.live = capabilities.inProcessValues
    this.async = !capabilities.sync
    this.domainGeneration = this.state.generation(layout.namespace)
    const own = backend.operationTimeoutMs
    this.selfBounded = typeof own === 'number' && own > 0 && own <= timeoutMs
  }

  /** Marks the cache closed and wakes background work waiting on {@link sleepUnlessClosed}. */
  markClosed(): void {
    this.closed = true
    for (const wake of this.closeListeners.splice(0)) wake()
  }

  /** Waits `ms` (without keeping the process alive), or less if the cache closes meanwhile. */
  sleepUnlessClosed(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref?.()
      const { closeListeners } = this
      function done() {
        clearTimeout(timer)
        const at = closeListeners.indexOf(done)
        if (at >= 0) closeListeners.splice(at, 1)
        resolve()
      }
      closeListeners.push(done)
    })
  }

  assertOpen(): void {
    if (this.closed) throw new ClosedError(`Cache "${this.domainKey}"`)
  }

  /**
   * Runs a public call whose result is a promise when `asPromise` (every call on an asynchronous
   * backend): a synchronous throw (an unkeyable argument, a closed cache, an unsupported operation)
   * becomes a rejection, so `.catch()` sees it.
   */
  guard<T>(asPromise: boolean, run: () => T): T {
    let result: T
    try {
      result = run()
    } catch (error) {
      if (asPromise) return Promise.reject(error) as T
      throw error
    }
    if (result instanceof Promise) this.track(result)
    return result
  }

  /**
   * Counts a public call (or background work) as under way until it settles, so that `close()` waits for
   * it: a whole call, not each backend operation, since a call goes from one operation to the next.
   */
  readonly track = (call: Promise<unknown>): void => {
    this.callStarted()
    call.then(this.callEnded, this.callEnded)
  }

  /** The stamp a stored result carries (its payload left undecoded), or `undefined` when it is unreadable. */
  stampOf(stored: unknown): string | undefined {
    try {
      return decodeStamp(this.serializer, stored)
    } catch {
      return undefined
    }
  }

  /**
   * Resolves once no call of this cache and no computation under `prefix` is under way, including those
   * that start while waiting.
   */
  async settle(prefix: string): Promise<void> {
    for (;;) {
      const waiting = this.state.flights.runningUnder(prefix)
      if (this.calls > 0) waiting.push(new Promise<void>((resolve) => this.idleWaiters.push(resolve)))
      if (waiting.length === 0) return
      await Promise.allSettled(waiting)
    }
  }

  /** Calls under way: counted (the hit path of an asynchronous backend pays a counter, no promise). */
  private calls = 0
  private readonly idleWaiters: (() => void)[] = []

  callStarted(): void {
    this.calls++
  }

  readonly callEnded = (): void => {
    if (--this.calls === 0 && this.idleWaiters.length > 0) {
      for (const wake of this.idleWaiters.splice(0)) wake()
    }
  }

  /**
   * Runs one backend operation with the time bound, turning failures into typed errors that are also
   * reported through the `error` event.
   */
  io<T>(operation: string, run: () => MaybePromise<T>, key?: string): MaybePromise<T> {
    let result: MaybePromise<T>
    try {
      result = run()
    } catch (error) {
      throw this.failure(operation, error, key)
    }
    if (!(result instanceof Promise)) return result
    const bounded = this.selfBounded ? result : withTimeout(result, this.timeoutMs, operation)
    return bounded.catch((error: unknown) => {
      throw this.failure(operation, error, key)
    })
  }

  /** Wraps (if needed) and reports a failure; the caller decides whether to throw it. */
  failure(operation: string, error: unknown, key?: string): RapideError {
    const typed = RapideError.isInstance(error) ? error : new BackendError(operation, error)
    this.report(operation, typed, key)
    return typed
  }

  report(operation: string, error: unknown, key?: string): void {
    if (this.events.has('error')) this.events.emit('error', { operation, error, key } as CacheEvents['error'])
  }

  // ---- stored values --------------------------------------------------------------------------

  /** Encodes a key-value API value. */
  encodeValue(value: unknown): unknown {
    if (this.live) return new LiveValue(value)
    return encodeEnvelope(this.serializer, value, '', false)
  }

  /** Decodes a key-value API value (a counter reads as its number); undecodable is a reported miss. */
  decodeValue(stored: unknown, key: string): unknown {
    if (stored === undefined) return undefined
    if (stored instanceof LiveValue) return stored.value
    const counter = decodeCounter(stored)
    if (counter !== undefined) return counter
    try {
      return decodeEnvelope(this.serializer, stored).value
    } catch (error) {
      this.report('decode', error, key)
      return undefined
    }
  }

  encodeResult(value: unknown, stamp: string, async: boolean): Uint8Array {
    try {
      return encodeEnvelope(this.serializer, value, stamp, async)
    } catch (error) {
      throw RapideError.isInstance(error)
        ? error
        : new SerializationError(`The ${this.serializer.name} serializer cannot encode the result`, error)
    }
  }

  encodeToken(token: string): unknown {
    return this.live ? token : encodeText(token)
  }

  decodeToken(stored: unknown): string | undefined {
    return stored === undefined ? undefined : decodeText(stored)
  }

  // ---- backend operations with fallbacks -------------------------------------------------------

  getMany(keys: readonly string[]): MaybePromise<unknown[]> {
    const { backend } = this
    if (backend.getMany) return this.io('getMany', () => backend.getMany!(keys))
    const reads = keys.map((key) => this.io('get', () => backend.get(key), key))
    return reads.some((r) => r instanceof Promise) ? Promise.all(reads) : (reads as unknown[])
  }

  /** Writes entries atomically: `setMany` where the backend has it; a loop is atomic only unshared. */
  setAtomically(entries: readonly BackendEntry<unknown>[]): MaybePromise<void> {
    const { backend } = this
    if (entries.length === 0) return
    // `setMany` even for one entry: only it carries the `bookkeeping` mark (a store keeps marked rows from
    // eviction), and an invalidation marker must not be evicted as if it were a value.
    if (backend.setMany) return this.io('setMany', () => backend.setMany!(entries))
    if (entries.length > 1 && backend.capabilities.shared) {
      throw new NotSupportedError(
        `Backend "${backend.name}" is shared but has no setMany: an atomic batch cannot be guaranteed`,
      )
    }
    return sequence(entries, (e) => this.io('set', () => backend.set(e.key, e.value, e.ttlMs), e.key))
  }

  deleteMany(keys: readonly string[]): MaybePromise<number> {
    const { backend } = this
    if (keys.length === 0) return 0
    if (backend.deleteMany) return this.io('deleteMany', () => backend.deleteMany!(keys))
    let count = 0
    return chain(
      sequence(keys, (key) =>
        chain(
          this.io('delete', () => backend.delete(key), key),
          (existed) => {
            if (existed) count++
          },
        ),
      ),
      () => count,
    )
  }

  /**
   * Tells the backend which result prefixes an invalidation made dead. Only a hint: the invalidation has
   * already happened, so a failure here is reported through the `error` event and never thrown.
   */
  reclaim(prefixes: readonly string[]): MaybePromise<void> {
    const { backend } = this
    if (!backend.reclaimPrefix || prefixes.length === 0) return
    const ignore = () => undefined
    try {
      return sequence(prefixes, (prefix) => {
        const hinted = this.io('reclaimPrefix', () => backend.reclaimPrefix!(prefix), prefix)
        return hinted instanceof Promise ? hinted.catch(ignore) : hinted
      })
    } catch {
      // Already reported by io().
    }
  }

  /**
   * Operations that need atomicity (setNx, compare-and-delete, incr, expire) fall back to read-then-write
   * only where nothing can interleave: a synchronous backend used by this process alone.
   */
  canEmulateAtomically(): boolean {
    return this.backend.capabilities.sync && !this.backend.capabilities.shared
  }

  requireAtomic(operation: string): void {
    if (!this.canEmulateAtomically()) {
      throw new NotSupportedError(
        `Backend "${this.backend.name}" does not implement ${operation}, and emulating it on a shared or asynchronous store would not be atomic`,
      )
    }
  }
}

/** Runs `step` over items one after another, synchronously while every step is synchronous. */
export function sequence<T>(items: readonly T[], step: (item: T) => MaybePromise<void>): MaybePromise<void> {
  for (let i = 0; i < items.length; i++) {
    const result = step(items[i]!)
    if (result instanceof Promise) {
      return result.then(async () => {
        for (let j = i + 1; j < items.length; j++) await step(items[j]!)
      })
    }
  }
}
