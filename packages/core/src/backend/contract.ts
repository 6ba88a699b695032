import type { MaybePromise } from '../maybe-promise.js'

/** The contract version this core implements. A backend declares the version it was written for. */
export const SPECIFICATION_VERSION = 1

/**
 * What a backend can do. The core and the conformance kit read every flag: each one changes which
 * code path runs and which conformance tests apply.
 */
export interface BackendCapabilities {
  /** Every method returns its result directly, never a promise. Wrapped sync functions then stay sync. */
  readonly sync: boolean
  /** Data survives the process (and a new instance over the same store sees it). */
  readonly persistent: boolean
  /** Several instances (processes, threads, machines) can use the same store at once. */
  readonly shared: boolean
  /**
   * Values are kept as live JavaScript values (no serialization): `get` returns the very value `set`
   * was given. Only possible for a store that is neither shared nor persistent.
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
 * The storage contract. Keys are well-formed Unicode strings (any characters but lone surrogates, so
 * every key has a UTF-8 form; usually under a few hundred bytes, but key-value keys are the user's own);
 * values are `Uint8Array`s, returned byte for byte, unless `inProcessValues` is declared (then any value,
 * returned as the same reference). A backend never returns an expired value.
 *
 * Three methods are required. The optional ones are used when present; otherwise the core falls back
 * (a batch becomes a loop) or, where a fallback could be wrong on a shared store (atomic `setNx`,
 * `incr`, compare-and-delete), the operation throws `NotSupportedError`.
 *
 * **Key groups.** A store that spreads keys over partitions (Redis Cluster, a sharded database) may keep
 * together the keys of one group: the text between a key's first `{` and the next `}`, when it is not
 * empty (the Redis Cluster hash-tag rule). A key without such a group is its own. The core only asks for
 * atomic batches (`setMany` of an invalidation) within one group, so a partitioned backend can promise
 * atomicity per group and handle other batches group by group.
 *
 * See "Writing a backend" in the `@rapide/core` README for a complete example.
 */
export interface Backend<Stored = Uint8Array> {
  /** Always {@link SPECIFICATION_VERSION} (1) for backends written against this contract. */
  readonly specificationVersion: 1
  /** A short name used in error messages and events, e.g. `'memory'`. */
  readonly name: string
  readonly capabilities: BackendCapabilities
  /**
   * Optional: the backend bounds every operation itself and fails it after this many ms. The core then
   * sets no timer of its own when its `timeout` is not shorter (a timer per operation costs more than a
   * remote hit's own bookkeeping).
   */
  readonly operationTimeoutMs?: number
  /**
   * Optional: names the store this instance talks to (a resolved file path, a server address and
   * database), so that two instances over the same store are recognised as one. The core refuses the
   * same function key wrapped twice in one domain of one *store*, not just of one instance. Without it,
   * each instance is its own store. Never includes credentials.
   */
  readonly storeId?: string

  get(key: string): MaybePromise<Stored | undefined>
  /** Stores `value`; `ttlMs` undefined means no expiry. Replaces any previous value and expiry. */
  set(key: string, value: Stored, ttlMs: number | undefined): MaybePromise<void>
  /** Removes a key; resolves to whether it existed. */
  delete(key: string): MaybePromise<boolean>

  /**
   * Optional hot-path form of `get(namespace + key)`, with the same result. The core passes the same
   * `namespace` string object on every call of a wrapped function, so a backend that indexes by namespace
   * hashes only the short `key` (hashing a freshly built long key costs more than the rest of a memory hit).
   * A backend with `getIn` must have `setIn`, and both forms must see the same data.
   */
  getIn?(namespace: string, key: string): MaybePromise<Stored | undefined>
  /** Optional form of `set(namespace + key, value, ttlMs)`; see `getIn`. */
  setIn?(namespace: string, key: string, value: Stored, ttlMs: number | undefined): MaybePromise<void>
  /** Reads several keys in one round trip; the result has one slot per key, in order. */
  getMany?(keys: readonly string[]): MaybePromise<(Stored | undefined)[]>
  /**
   * Writes several entries atomically: a reader sees all of them or none. A partitioned backend may limit
   * that promise to entries of one key group (see "Key groups") and must document it.
   */
  setMany?(entries: readonly BackendEntry<Stored>[]): MaybePromise<void>
  /** Removes several keys; resolves to how many existed. */
  deleteMany?(keys: readonly string[]): MaybePromise<number>
  /** Atomically stores `value` only if `key` holds nothing; resolves to whether it stored. */
  setNx?(key: string, value: Stored, ttlMs: number | undefined): MaybePromise<boolean>
  /**
   * Optional: creates `guard` if it holds nothing (as `setNx` would), then stores `entry`, in one round
   * trip or one transaction. The entry may be skipped when the guard holds another value afterwards (a
   * reader would not accept it anyway). The core stores a freshly computed result this way together with
   * its result generation, instead of creating the generation before computing: a miss then costs one
   * write instead of two. Without it, the generation is created first.
   */
  setGuarded?(guard: BackendEntry<Stored>, entry: BackendEntry<Stored>): MaybePromise<void>
  /** Atomically removes `key` only if it holds exactly `value` (compared byte for byte). */
  deleteIfEquals?(key: string, value: Stored): MaybePromise<boolean>
  /**
   * Atomically adds `delta` to the integer counter at `key` and resolves to the new value. An absent key
   * counts as 0 and is created with `ttlMs`; an existing key keeps its expiry. Counters are stored as
   * decimal text bytes (a number for `inProcessValues` backends). A non-counter value must throw. A result
   * or `delta` outside ±`Number.MAX_SAFE_INTEGER` must throw `CounterOverflowError` and leave the counter
   * unchanged (past 2^53 integers round).
   */
  incr?(key: string, delta: number, ttlMs: number | undefined): MaybePromise<number>
  /** Sets (or with `undefined`, removes) the expiry of an existing key; resolves to whether it existed. */
  expire?(key: string, ttlMs: number | undefined): MaybePromise<boolean>
  /** Lists the live keys that start with `prefix` (any order). Used by `clear` and `deletePattern`. */
  keys?(prefix: string): MaybePromise<Iterable<string>> | AsyncIterable<string>
  /** Removes every key that starts with `prefix`; resolves to how many. */
  deletePrefix?(prefix: string): MaybePromise<number>
  /**
   * Optional hint, given after a function or domain invalidation: every key that starts with `prefix` and
   * was written before this call is dead (no reader will accept it again). The backend may remove those
   * keys later, at its own pace; it must not remove keys written after the call, and must return without
   * doing the removal on the caller's time. Without it, dead results go by TTL or eviction.
   */
  reclaimPrefix?(prefix: string): MaybePromise<void>
  /** Checks the store answers. */
  ping?(): MaybePromise<boolean>
  /**
   * Releases connections and handles. Called by `cache.close()` when the cache built the backend.
   * Calling it twice must be harmless.
   */
  close?(): MaybePromise<void>
}

/** Any backend, whatever it stores (method parameters are bivariant, so every `Backend<X>` fits). */
export type AnyBackend = Backend<unknown>

/** A backend class the cache can construct with its defaults. */
export type BackendClass<B extends AnyBackend> = new () => B

/** `T` on a synchronous backend, `Promise<T>` on an asynchronous one. */
export type OnBackend<B extends AnyBackend, T> = B['capabilities']['sync'] extends true ? T : Promise<T>
