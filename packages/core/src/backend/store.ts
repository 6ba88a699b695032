import { IncompatibleBackendError, NotSupportedError, type RapideError } from '../errors.js'
import { chain, type MaybePromise } from '../maybe-promise.js'
import { withTimeout } from '../timeout.js'
import type { Accelerations, BackendEntry } from './contract.js'
import type { NormalBackend } from './contract-v1.js'
import { emulatedAtomics } from './emulated-atomics.js'

/** Turns a failure of `operation` into the typed error a caller gets (and reports it). */
export type FailureHandler = (operation: string, error: unknown, key?: string) => RapideError

/** A namespace's view, bound to the adapter's time bound and typed errors. */
export interface BoundScope {
  get(key: string): MaybePromise<unknown>
  set(key: string, value: unknown, ttlMs: number | undefined): MaybePromise<void>
}

/**
 * The one adapter between the core and any backend, built once by `createCache`. Domain code calls it
 * and never checks for an optional method. This file answers "what happens when a backend lacks X":
 *
 * | missing | what the core does |
 * |---|---|
 * | `getMany` / `deleteMany` | a loop of `get` / `delete` (same result, more round trips) |
 * | `setMany` | one entry: `set`. Several: a loop where nothing can interleave (a synchronous store used by this process alone), else `NotSupportedError`, for key-value and invalidation batches alike |
 * | atomics (`setNx`, `deleteIfEquals`, `incr`, `expire`) | emulated by read-then-write where nothing can interleave, else `NotSupportedError` |
 * | `keys` | `deletePattern`, `clear` refused; shared dead results go by TTL |
 * | `deletePrefix` | `keys` then `deleteMany` |
 * | `ping` | a read of a key that does not exist |
 * | `accelerations().scope` | `get(namespace + key)` |
 * | `accelerations().setGuarded` | a new result's generation is created before computing (two writes) |
 * | `accelerations().reclaimPrefix` | the core reclaims dead results in the background (needs `keys`, atomics) |
 * | `accelerations().operationTimeoutMs` | a timer per asynchronous operation |
 *
 * Every operation is bounded by the cache's `timeout` (on an asynchronous backend), fails with a typed
 * error that is also reported, and on an asynchronous backend never throws synchronously: a throw
 * becomes a rejection.
 */
export class Store {
  readonly name: string
  readonly sync: boolean
  readonly shared: boolean
  private readonly live: boolean
  readonly storeId: string | undefined
  /** Read-modify-write can be emulated: a synchronous store that no other process uses. */
  private readonly canEmulateAtomics: boolean
  /** A result and its new generation are written in one step (`setGuarded`). */
  readonly writesGuarded: boolean
  /** The backend reclaims dead prefixes itself (`reclaimPrefix`). */
  readonly reclaimsPrefixes: boolean
  /** The backend can list keys by prefix. */
  readonly lists: boolean
  /** Set-if-absent and compare-and-delete are available, natively or emulated. */
  readonly hasAtomics: boolean
  /** Set-if-absent is available, natively or emulated (a version 1 backend may have it alone). */
  readonly hasSetNx: boolean
  /** Compare-and-delete is available, natively or emulated (a version 1 backend may have it alone). */
  readonly hasDeleteIfEquals: boolean
  /** Atomic counters are available, natively or emulated. */
  readonly hasIncr: boolean
  /** Changing a key's ttl (`expire`) is available, natively or emulated. */
  readonly hasExpire: boolean
  /**
   * The backend is held to its `sync` flag: a promise from a synchronous version 2 backend is refused.
   * Version 1 allowed promises from any method, so a version 1 backend keeps that tolerance.
   */
  private readonly strictSync: boolean
  private readonly accelerations: Accelerations<boolean, unknown>
  /** The backend fails its own operations within the cache's time bound: no timer of ours is needed. */
  private readonly selfBounded: boolean
  private readonly atomics: Pick<NormalBackend, 'setNx' | 'deleteIfEquals' | 'incr' | 'expire'>

  constructor(
    /** The backend as given (state and registries are keyed by it). */
    readonly backend: NormalBackend,
    accelerations: Accelerations<boolean, unknown>,
    /** The contract version the backend was written for. */
    version: 1 | 2,
    private readonly timeoutMs: number,
    private readonly failure: FailureHandler,
  ) {
    const { capabilities } = backend
    this.name = backend.name
    this.sync = capabilities.sync
    this.shared = capabilities.shared
    this.live = capabilities.inProcessValues
    this.storeId = backend.storeId
    this.accelerations = accelerations
    this.canEmulateAtomics = capabilities.sync && !capabilities.shared
    this.writesGuarded = typeof accelerations.setGuarded === 'function'
    this.reclaimsPrefixes = typeof accelerations.reclaimPrefix === 'function'
    this.lists = typeof backend.keys === 'function'
    this.atomics = this.canEmulateAtomics
      ? { ...emulatedAtomics(backend, this.live), ...pickAtomics(backend) }
      : pickAtomics(backend)
    this.hasSetNx = typeof this.atomics.setNx === 'function'
    this.hasDeleteIfEquals = typeof this.atomics.deleteIfEquals === 'function'
    this.hasAtomics = this.hasSetNx && this.hasDeleteIfEquals
    this.hasIncr = typeof this.atomics.incr === 'function'
    this.hasExpire = typeof this.atomics.expire === 'function'
    this.strictSync = version === 2
    const own = accelerations.operationTimeoutMs
    this.selfBounded = typeof own === 'number' && own > 0 && own <= timeoutMs
  }

  /**
   * Runs one backend operation with the time bound, turning failures into typed errors that are also
   * reported. A synchronous backend that answers with a promise is refused (its `sync` flag lies, and
   * every hit would otherwise silently become a recomputation).
   */
  io<T>(operation: string, run: () => MaybePromise<T>, key?: string): MaybePromise<T> {
    let result: MaybePromise<T>
    try {
      result = run()
    } catch (error) {
      const typed = this.failure(operation, error, key)
      if (this.sync) throw typed
      return Promise.reject(typed)
    }
    if (!(result instanceof Promise)) return result
    if (this.sync && this.strictSync) {
      result.catch(() => undefined)
      throw this.failure(operation, lyingSyncFlag(this.name, operation), key)
    }
    const bounded = this.selfBounded ? result : withTimeout(result, this.timeoutMs, operation)
    return bounded.catch((error: unknown) => {
      throw this.failure(operation, error, key)
    })
  }

  get(key: string): MaybePromise<unknown> {
    return this.io('get', () => this.backend.get(key), key)
  }

  set(key: string, value: unknown, ttlMs: number | undefined): MaybePromise<void> {
    return this.io('set', () => this.backend.set(key, value, ttlMs), key)
  }

  delete(key: string): MaybePromise<boolean> {
    return this.io('delete', () => this.backend.delete(key), key)
  }

  /**
   * The raw view of a namespace, for the hit path of a synchronous unshared store: no wrapper at all
   * (a closure per read costs a measurable share of a memory hit), so its caller catches throws itself.
   */
  rawScope(namespace: string): BoundScope {
    const own = this.accelerations.scope?.(namespace)
    if (own !== undefined) return own
    const { backend } = this
    return {
      get: (key) => backend.get(namespace + key),
      set: (key, value, ttlMs) => backend.set(namespace + key, value, ttlMs),
    }
  }

  getMany(keys: readonly string[]): MaybePromise<unknown[]> {
    const { backend } = this
    // The first key names what failed (the `error` event, and the statistics of its function).
    if (backend.getMany) return this.io('getMany', () => backend.getMany!(keys), keys[0])
    const reads = keys.map((key) => this.get(key))
    return reads.some((r) => r instanceof Promise) ? Promise.all(reads) : (reads as unknown[])
  }

  /**
   * Writes entries atomically (a reader sees all of them or none): the backend's `setMany`, even for one
   * entry (only it carries the `bookkeeping` mark, which keeps a marker from being evicted as a value).
   * Without it, one entry is a `set`, and several a loop only where nothing can interleave. The one policy
   * for key-value and invalidation batches alike.
   */
  setMany(entries: readonly BackendEntry<unknown>[]): MaybePromise<void> {
    const { backend } = this
    if (entries.length === 0) return
    if (backend.setMany) return this.io('setMany', () => backend.setMany!(entries))
    if (entries.length > 1 && !this.canEmulateAtomics) {
      return this.refuse(
        `Backend "${this.name}" has no setMany, and a loop of writes on a ${this.shared ? 'shared' : 'asynchronous'} store is not atomic: a reader could see part of the batch`,
      )
    }
    return sequence(entries, (e) => this.set(e.key, e.value, e.ttlMs))
  }

  deleteMany(keys: readonly string[]): MaybePromise<number> {
    const { backend } = this
    if (keys.length === 0) return 0
    if (backend.deleteMany) return this.io('deleteMany', () => backend.deleteMany!(keys))
    let count = 0
    return chain(
      sequence(keys, (key) =>
        chain(this.delete(key), (existed) => {
          if (existed) count++
        }),
      ),
      () => count,
    )
  }

  setNx(key: string, value: unknown, ttlMs: number | undefined): MaybePromise<boolean> {
    const { setNx } = this.atomics
    if (!setNx) return this.refuseAtomic('setNx')
    return this.io('setNx', () => setNx.call(this.backend, key, value, ttlMs), key)
  }

  deleteIfEquals(key: string, value: unknown): MaybePromise<boolean> {
    const { deleteIfEquals } = this.atomics
    if (!deleteIfEquals) return this.refuseAtomic('deleteIfEquals')
    return this.io('deleteIfEquals', () => deleteIfEquals.call(this.backend, key, value), key)
  }

  incr(key: string, delta: number, ttlMs: number | undefined): MaybePromise<number> {
    const { incr } = this.atomics
    if (!incr) return this.refuseAtomic('incr')
    return this.io('incr', () => incr.call(this.backend, key, delta, ttlMs), key)
  }

  expire(key: string, ttlMs: number | undefined): MaybePromise<boolean> {
    const { expire } = this.atomics
    if (!expire) return this.refuseAtomic('expire')
    return this.io('expire', () => expire.call(this.backend, key, ttlMs), key)
  }

  /** The live keys under `prefix`, collected. Refused when the backend cannot list keys. */
  keys(prefix: string): MaybePromise<string[]> {
    const { backend } = this
    if (!backend.keys) return this.refuse(`Backend "${this.name}" cannot list keys (no keys() method)`)
    const listed = this.io('keys', () => {
      const result = backend.keys!(prefix)
      if (Symbol.asyncIterator in result) {
        if (this.sync && this.strictSync) {
          throw new IncompatibleBackendError(
            `Backend "${this.name}" declares capabilities.sync = true but its keys() returned an async iterable; return an Iterable (or declare sync: false)`,
          )
        }
        return collect(result as AsyncIterable<string>)
      }
      return result as MaybePromise<Iterable<string>>
    })
    return chain(listed, (keys) => [...keys])
  }

  /**
   * The keys under `prefix` as a stream, for background work over many keys: each step of an asynchronous
   * listing is bounded by the time bound, and stopping early stops the listing (a SCAN cursor).
   */
  async *streamKeys(prefix: string): AsyncGenerator<string> {
    const { backend } = this
    if (!backend.keys) return
    const listed = await this.io<Iterable<string> | AsyncIterable<string>>(
      'keys',
      () => backend.keys!(prefix),
      prefix,
    )
    if (!(Symbol.asyncIterator in listed)) {
      yield* listed
      return
    }
    const iterator = listed[Symbol.asyncIterator]()
    try {
      for (;;) {
        const step = await withTimeout(iterator.next(), this.timeoutMs, 'keys')
        if (step.done) return
        yield step.value
      }
    } finally {
      void Promise.resolve(iterator.return?.()).catch(() => undefined)
    }
  }

  /** Removes every key under `prefix`: the backend's `deletePrefix`, else a listing then `deleteMany`. */
  deletePrefix(prefix: string): MaybePromise<number> {
    const { backend } = this
    if (backend.deletePrefix) return this.io('deletePrefix', () => backend.deletePrefix!(prefix))
    return chain(this.keys(prefix), (keys) => this.deleteMany(keys))
  }

  /** Creates `guard` if absent, then writes `entry`, in one step. Only when {@link writesGuarded}. */
  setGuarded(guard: BackendEntry<unknown>, entry: BackendEntry<unknown>): MaybePromise<void> {
    const { setGuarded } = this.accelerations
    if (!setGuarded) return this.refuse(`Backend "${this.name}" has no setGuarded`)
    return this.io('setGuarded', () => setGuarded(guard, entry), entry.key)
  }

  /**
   * Tells the backend which prefixes an invalidation made dead. Only a hint: the invalidation has already
   * happened, so a failure is reported through the `error` event and never thrown.
   */
  reclaimPrefixes(prefixes: readonly string[]): MaybePromise<void> {
    const { reclaimPrefix } = this.accelerations
    if (!reclaimPrefix || prefixes.length === 0) return
    const ignore = () => undefined
    try {
      return sequence(prefixes, (prefix) => {
        const hinted = this.io('reclaimPrefix', () => reclaimPrefix(prefix), prefix)
        return hinted instanceof Promise ? hinted.catch(ignore) : hinted
      })
    } catch {
      // Already reported by io().
    }
  }

  /** Checks the store answers: its `ping`, else a read of a key that does not exist. */
  ping(probeKey: string): MaybePromise<boolean> {
    const { backend } = this
    if (backend.ping) return this.io('ping', () => backend.ping!())
    return chain(this.get(probeKey), () => true)
  }

  /**
   * Releases the backend (when the cache built it). `close` may answer with a promise on any backend
   * (flushing a file is asynchronous work even for a synchronous store): it is awaited, within the bound.
   */
  close(): MaybePromise<void> {
    const { backend } = this
    if (!backend.close) return
    let closed: MaybePromise<void>
    try {
      closed = backend.close()
    } catch (error) {
      return Promise.reject(this.failure('close', error))
    }
    if (!(closed instanceof Promise)) return
    return withTimeout(closed, this.timeoutMs, 'close').catch((error: unknown) => {
      throw this.failure('close', error)
    })
  }

  private refuseAtomic(operation: string): never | Promise<never> {
    return this.refuse(
      `Backend "${this.name}" does not implement ${operation}, and emulating it on a ${this.shared ? 'shared' : 'asynchronous'} store would not be atomic`,
    )
  }

  /** Refuses an operation: thrown on a synchronous backend, a rejection on an asynchronous one. */
  private refuse(message: string): never | Promise<never> {
    const error = new NotSupportedError(message)
    if (this.sync) throw error
    return Promise.reject(error)
  }
}

function pickAtomics(
  backend: NormalBackend,
): Pick<NormalBackend, 'setNx' | 'deleteIfEquals' | 'incr' | 'expire'> {
  const picked: Pick<NormalBackend, 'setNx' | 'deleteIfEquals' | 'incr' | 'expire'> = {}
  if (backend.setNx) picked.setNx = backend.setNx
  if (backend.deleteIfEquals) picked.deleteIfEquals = backend.deleteIfEquals
  if (backend.incr) picked.incr = backend.incr
  if (backend.expire) picked.expire = backend.expire
  return picked
}

/** The refusal of a `sync: true` backend whose `operation` answered with a promise. */
export function lyingSyncFlag(name: string, operation: string): IncompatibleBackendError {
  return new IncompatibleBackendError(
    `Backend "${name}" declares capabilities.sync = true but its ${operation}() returned a promise; declare sync: false (AsyncBackend) or answer directly`,
  )
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

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const key of keys) out.push(key)
  return out
}
