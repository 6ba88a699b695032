import type { CheckedBackend } from './backend/check-backend.js'
import { Store } from './backend/store.js'
import { type BackendState, backendState, type GenerationCounter } from './coordination/backend-state.js'
import { BackendError, ClosedError, RapideError } from './errors.js'
import type { CacheEvents, EventHub } from './events.js'
import type { ComputeInfo } from './instrumentation.js'
import type { KeyLayout } from './keys/key-layout.js'
import type { Serializer } from './serialization/serializer.js'
import type { Signer } from './serialization/signing.js'
import { StoredValues } from './serialization/stored-values.js'
import type { CacheStatistics } from './statistics.js'

/** One instrumentation's `compute` hook (see `CacheInstrumentation`). */
export type ComputeHook = <T>(info: ComputeInfo, run: () => T) => T

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
  /** The backend behind its adapter: every backend operation goes through it. */
  readonly store: Store
  readonly state: BackendState
  /**
   * `local` when the backend is synchronous, unshared and not persistent (the memory backend): generations
   * are counters in this process. Otherwise `shared`: generations are tokens stored in the backend.
   */
  readonly coordination: 'local' | 'shared'
  /** The backend keeps live values (no serialization). */
  readonly inProcessValues: boolean
  readonly domainGeneration: GenerationCounter
  /** The backend answers with promises: every public call then returns one, and never throws. */
  readonly async: boolean
  closed = false
  /** Background reclamations under way, by scope: a new invalidation of the scope asks for one more run. */
  readonly reclaiming = new Map<string, { again: boolean }>()
  private readonly closeListeners: (() => void)[] = []

  /** How values, results and tokens are stored on this backend. */
  readonly values: StoredValues
  /** The cache's counters (`cache.stats()`); `undefined` with `stats: false`. Set by `createCache`. */
  statistics: CacheStatistics | undefined
  /** The instrumentation hooks that wrap computations (tracing), in order; empty without any. */
  computeHooks: readonly ComputeHook[] = []

  constructor(
    checked: CheckedBackend,
    readonly domainKey: string,
    readonly layout: KeyLayout,
    readonly serializer: Serializer,
    readonly events: EventHub,
    readonly onError: ErrorPolicy,
    readonly timeoutMs: number,
    readonly defaultTtlMs: number | undefined,
    /** Signs and verifies stored values and results (the `sign` option); none on an in-process backend. */
    signer?: Signer,
  ) {
    const { backend, accelerations, version } = checked
    const { capabilities } = backend
    this.store = new Store(backend, accelerations, version, timeoutMs, (operation, error, key) =>
      this.failure(operation, error, key),
    )
    this.values = new StoredValues(
      serializer,
      capabilities.inProcessValues,
      (operation, error, key) => this.report(operation, error, key),
      signer,
    )
    this.state = backendState(backend)
    this.coordination =
      capabilities.sync && !capabilities.shared && !capabilities.persistent ? 'local' : 'shared'
    this.inProcessValues = capabilities.inProcessValues
    this.async = !capabilities.sync
    this.domainGeneration = this.state.generation(layout.namespace)
  }

  /** Marks the cache closed and wakes background work waiting on {@link sleepUnlessClosed}. */
  markClosed(): void {
    this.closed = true
    for (const wake of this.closeListeners.splice(0)) wake()
  }

  /** Calls `listener` when the cache closes (background timers stop there). */
  onClose(listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
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

  /** Wraps (if needed) and reports a failure; the caller decides whether to throw it. */
  failure(operation: string, error: unknown, key?: string): RapideError {
    const typed = RapideError.isInstance(error) ? error : new BackendError(operation, error)
    this.report(operation, typed, key)
    return typed
  }

  report(operation: string, error: unknown, key?: string): void {
    this.statistics?.countError(operation, key)
    if (this.events.has('error')) this.events.emit('error', { operation, error, key } as CacheEvents['error'])
  }
}
