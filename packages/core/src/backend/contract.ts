import type { MaybePromise } from '../maybe-promise.js'
import type { BackendV1 } from './contract-v1.js'

/**
 * The contract version this core implements. A backend declares the version it was written for, so a
 * later contract can bridge this one (as this core bridges version 1: see `contract-v1.ts`).
 */
export const SPECIFICATION_VERSION = 2

/** What an operation of a backend answers: the value itself when `Sync`, else a promise of it. */
export type Answer<T, Sync extends boolean> = Sync extends true ? T : Promise<T>

/**
 * What kind of store a backend is. The core reads every flag (each one changes which code path runs),
 * and so does the conformance kit (each one changes which tests apply).
 */
export interface BackendCapabilities<Sync extends boolean = boolean> {
  /**
   * Every operation answers directly, never with a promise: wrapped synchronous functions then stay
   * synchronous. The type of every method follows this flag: a class that `implements SyncBackend` and
   * answers `get`, `delete` or any other value-returning method with a promise does not compile. A method
   * that answers nothing (`set`, `close`) cannot be checked by the types (a promise fits `void`), so every
   * answer is also checked at run time: a promise from a `sync: true` backend is refused with
   * `IncompatibleBackendError` (`get` is probed once when a cache is created).
   */
  readonly sync: Sync
  /** Data survives the process (and a new instance over the same store sees it). */
  readonly persistent: boolean
  /** Several instances (processes, threads, machines) can use the same store at once. */
  readonly shared: boolean
  /**
   * Values are kept as live JavaScript values (no serialization): `get` returns the very value `set`
   * was given. Only possible for a store that is synchronous and neither shared nor persistent.
   */
  readonly inProcessValues: boolean
}

/** One write of a batch. `ttlMs` undefined means no expiry. */
export interface BackendEntry<Stored = Uint8Array> {
  readonly key: string
  readonly value: Stored
  readonly ttlMs: number | undefined
  /**
   * Set by the core on the generations and invalidation markers it writes: small rows that live results
   * and race-free invalidation depend on. A size-bounded store should not evict them as if they were
   * values (SQLite keeps them out of its `maxEntries` count); they expire or are reclaimed instead.
   */
  readonly bookkeeping?: boolean
}

/**
 * The required part of every backend: what it is, and `get` / `set` / `delete`. A backend with only
 * these gives cached functions and invalidation everywhere; the optional groups below unlock the rest.
 *
 * Keys are well-formed Unicode strings (any characters but lone surrogates, so every key has a UTF-8
 * form). Values are `Uint8Array`s, returned byte for byte, unless `inProcessValues` is declared (then any
 * value, returned as the same reference). A backend never returns an expired value.
 */
export interface BackendCore<Sync extends boolean, Stored> {
  /** Always {@link SPECIFICATION_VERSION} (2) for backends written against this contract. */
  readonly specificationVersion: 2
  /** A short name used in error messages and events, e.g. `'memory'`. */
  readonly name: string
  readonly capabilities: BackendCapabilities<Sync>
  /**
   * Optional: names the store this instance talks to (a resolved file path, a server address and
   * database), so that two instances over the same store are recognised as one. The core refuses the
   * same function key wrapped twice in one domain of one *store*, not just of one instance. Without it,
   * each instance is its own store. Never includes credentials.
   */
  readonly storeId?: string

  get(key: string): Answer<Stored | undefined, Sync>
  /** Stores `value`; `ttlMs` undefined means no expiry. Replaces any previous value and expiry. */
  set(key: string, value: Stored, ttlMs: number | undefined): Answer<void, Sync>
  /** Removes a key; answers whether it existed. */
  delete(key: string): Answer<boolean, Sync>

  /** Optional: checks the store answers. Without it, `cache.ping()` reads a key. */
  ping?(): Answer<boolean, Sync>
  /**
   * Optional: releases connections and handles. Called by `cache.close()` when the cache built the
   * backend. Calling it twice must be harmless; after it, every operation must fail (throw or reject)
   * rather than hang or answer from a stale store.
   */
  close?(): MaybePromise<void>
}

/**
 * Group "batches": several keys in one round trip. Implement all three or none.
 * Without them, reads and deletes become loops, and a batch of writes is refused where a loop would not
 * be atomic (a shared or asynchronous store: see `store.ts`).
 */
export interface BatchMethods<Sync extends boolean, Stored> {
  /** Reads several keys; the answer has one slot per key, in order. */
  getMany(keys: readonly string[]): Answer<(Stored | undefined)[], Sync>
  /**
   * Writes several entries atomically: a reader sees all of them or none. A partitioned backend may limit
   * that promise to entries of one key group (see "Key groups" in the conformance README) and must say so.
   */
  setMany(entries: readonly BackendEntry<Stored>[]): Answer<void, Sync>
  /** Removes several keys; answers how many existed. */
  deleteMany(keys: readonly string[]): Answer<number, Sync>
}

/**
 * Group "atomics": read-modify-write in one step. Implement all four or none. Without them a
 * synchronous store used by one process alone is emulated (nothing can interleave); any other store
 * refuses `setNx`, `incr`, `expire`, `lock` and `wrap({ lock })` with `NotSupportedError`.
 */
export interface AtomicMethods<Sync extends boolean, Stored> {
  /** Stores `value` only if `key` holds nothing; answers whether it stored. */
  setNx(key: string, value: Stored, ttlMs: number | undefined): Answer<boolean, Sync>
  /** Removes `key` only if it holds exactly `value` (compared byte for byte); answers whether it did. */
  deleteIfEquals(key: string, value: Stored): Answer<boolean, Sync>
  /**
   * Adds `delta` to the integer counter at `key` and answers the new value. An absent key counts as 0
   * and is created with `ttlMs`; an existing key keeps its expiry. Counters are stored as decimal text
   * bytes (a number for `inProcessValues` backends). A non-counter value must throw. A result or `delta`
   * outside ±`Number.MAX_SAFE_INTEGER` must throw `CounterOverflowError` and leave the counter unchanged.
   */
  incr(key: string, delta: number, ttlMs: number | undefined): Answer<number, Sync>
  /** Sets (or with `undefined`, removes) the expiry of an existing key; answers whether it existed. */
  expire(key: string, ttlMs: number | undefined): Answer<boolean, Sync>
}

/**
 * Group "listing": keys by prefix. Implement both or none. Without them `deletePattern` and `clear` are
 * refused, and a shared store's dead results go only by TTL or eviction.
 */
export interface ListingMethods<Sync extends boolean> {
  /** Lists the live keys that start with `prefix`, in any order. */
  keys(
    prefix: string,
  ): Sync extends true ? Iterable<string> : Promise<Iterable<string>> | AsyncIterable<string>
  /** Removes every key that starts with `prefix`; answers how many. */
  deletePrefix(prefix: string): Answer<number, Sync>
}

/**
 * A view of the keys that start with one namespace: `get(key)` is `backend.get(namespace + key)`.
 * The core asks for one per wrapped function and keeps it, so a store that indexes by namespace hashes
 * only the short argument key on a hit.
 */
export interface ScopedStore<Sync extends boolean, Stored> {
  get(key: string): Answer<Stored | undefined, Sync>
  set(key: string, value: Stored, ttlMs: number | undefined): Answer<void, Sync>
}

/**
 * Speed-only extras. **A backend author can ignore this group**: the core does the same work without it,
 * correctly, at some cost in round trips. Our own backends use it; the conformance kit tests whatever a
 * backend returns here. The core calls `setGuarded` and `reclaimPrefix` detached: return arrow functions
 * (or bound methods), not `this.method`.
 */
export interface Accelerations<Sync extends boolean, Stored> {
  /** A scoped view per namespace (see {@link ScopedStore}); both views and the backend see the same data. */
  scope?(namespace: string): ScopedStore<Sync, Stored>
  /**
   * Creates `guard` if it holds nothing (as `setNx` would), then stores `entry`, in one round trip or one
   * transaction. The entry may be skipped when the guard holds another value afterwards. The core then
   * writes a new result's generation with the result instead of before computing it (one write, not two).
   */
  setGuarded?(guard: BackendEntry<Stored>, entry: BackendEntry<Stored>): Answer<void, Sync>
  /**
   * A hint after a function or domain invalidation: every key that starts with `prefix` and was written
   * before this call is dead. The backend may remove those keys later, at its own pace; it must not
   * remove keys written after the call, and must not do the removal on the caller's time. Without it,
   * the core reclaims them in the background where the store can list keys, else they go by TTL.
   */
  reclaimPrefix?(prefix: string): Answer<void, Sync>
  /**
   * The backend fails every operation itself after this many ms: the core then sets no timer of its own
   * when its `timeout` is not shorter (a timer per operation costs more than a remote hit's bookkeeping).
   */
  operationTimeoutMs?: number
}

/** The optional groups and extras, each member optional on its own in the type (see each group). */
interface OptionalParts<Sync extends boolean, Stored>
  extends Partial<BatchMethods<Sync, Stored>>,
    Partial<AtomicMethods<Sync, Stored>>,
    Partial<ListingMethods<Sync>> {
  /** Called once, when a cache is created over this backend. Ignore it unless you are tuning for speed. */
  accelerations?(): Accelerations<Sync, Stored>
}

/**
 * A backend whose every operation answers directly (memory, SQLite, a file store using synchronous I/O).
 * Wrapped synchronous functions stay synchronous over it.
 *
 * @example
 * class MapBackend implements SyncBackend {
 *   readonly specificationVersion = 2
 *   readonly name = 'map'
 *   readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: false } as const
 *   private readonly map = new Map<string, { value: Uint8Array; expiresAt: number }>()
 *   get(key: string) {
 *     const entry = this.map.get(key)
 *     if (entry === undefined || entry.expiresAt <= Date.now()) return undefined
 *     return entry.value
 *   }
 *   set(key: string, value: Uint8Array, ttlMs: number | undefined) {
 *     this.map.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs })
 *   }
 *   delete(key: string) { return this.map.delete(key) }
 * }
 */
export interface SyncBackend<Stored = Uint8Array>
  extends BackendCore<true, Stored>,
    OptionalParts<true, Stored> {}

/**
 * A backend whose every operation answers with a promise (Redis, a network or database client). Every
 * wrapped function returns a promise over it.
 *
 * @example
 * class KvBackend implements AsyncBackend {
 *   readonly specificationVersion = 2
 *   readonly name = 'kv'
 *   readonly capabilities = { sync: false, persistent: true, shared: true, inProcessValues: false } as const
 *   async get(key: string) { return client.get(key) }
 *   async set(key: string, value: Uint8Array, ttlMs: number | undefined) { await client.set(key, value, ttlMs) }
 *   async delete(key: string) { return client.delete(key) }
 * }
 */
export interface AsyncBackend<Stored = Uint8Array>
  extends BackendCore<false, Stored>,
    OptionalParts<false, Stored> {}

/** A backend of contract version 2, synchronous or not. */
export type Backend<Stored = Uint8Array> = SyncBackend<Stored> | AsyncBackend<Stored>

/**
 * Any backend `createCache` accepts, whatever it stores (method parameters are bivariant, so every
 * `SyncBackend<X>` fits): contract version 2, or version 1 through its bridge.
 */
export type AnyBackend = SyncBackend<unknown> | AsyncBackend<unknown> | BackendV1<unknown>

/** A backend class the cache can construct with its defaults. */
export type BackendClass<B extends AnyBackend> = new () => B

/**
 * `T` on a synchronous backend, `Promise<T>` on an asynchronous one, and `T | Promise<T>` on a backend
 * that may be either (one chosen at run time, by `RAPIDE_URL` for instance): `await` works on all three.
 */
export type OnBackend<B extends AnyBackend, T> = B['capabilities']['sync'] extends true
  ? T
  : B['capabilities']['sync'] extends false
    ? Promise<T>
    : T | Promise<T>

/** The names of the optional groups, as the feature table and the conformance summary use them. */
export const BACKEND_GROUPS = {
  batches: ['getMany', 'setMany', 'deleteMany'],
  atomics: ['setNx', 'deleteIfEquals', 'incr', 'expire'],
  listing: ['keys', 'deletePrefix'],
} as const

export type BackendGroup = keyof typeof BACKEND_GROUPS
