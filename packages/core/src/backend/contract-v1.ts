import type { MaybePromise } from '../maybe-promise.js'
import type { Accelerations, AnyBackend, BackendCapabilities, BackendEntry, ScopedStore } from './contract.js'

/**
 * Contract version 1: one flat interface, every method optional on its own, speed-only members
 * (`getIn`/`setIn`, `setGuarded`, `reclaimPrefix`, `operationTimeoutMs`) beside the others. Backends
 * written against it keep working: {@link bridgeV1} presents them as version 2. New backends implement
 * `SyncBackend` or `AsyncBackend` instead.
 *
 * @deprecated Write `specificationVersion: 2` backends (`SyncBackend` / `AsyncBackend`).
 */
export interface BackendV1<Stored = Uint8Array> {
  readonly specificationVersion: 1
  readonly name: string
  readonly capabilities: BackendCapabilities
  readonly operationTimeoutMs?: number
  readonly storeId?: string
  get(key: string): MaybePromise<Stored | undefined>
  set(key: string, value: Stored, ttlMs: number | undefined): MaybePromise<void>
  delete(key: string): MaybePromise<boolean>
  getIn?(namespace: string, key: string): MaybePromise<Stored | undefined>
  setIn?(namespace: string, key: string, value: Stored, ttlMs: number | undefined): MaybePromise<void>
  getMany?(keys: readonly string[]): MaybePromise<(Stored | undefined)[]>
  setMany?(entries: readonly BackendEntry<Stored>[]): MaybePromise<void>
  deleteMany?(keys: readonly string[]): MaybePromise<number>
  setNx?(key: string, value: Stored, ttlMs: number | undefined): MaybePromise<boolean>
  setGuarded?(guard: BackendEntry<Stored>, entry: BackendEntry<Stored>): MaybePromise<void>
  deleteIfEquals?(key: string, value: Stored): MaybePromise<boolean>
  incr?(key: string, delta: number, ttlMs: number | undefined): MaybePromise<number>
  expire?(key: string, ttlMs: number | undefined): MaybePromise<boolean>
  keys?(prefix: string): MaybePromise<Iterable<string>> | AsyncIterable<string>
  deletePrefix?(prefix: string): MaybePromise<number>
  reclaimPrefix?(prefix: string): MaybePromise<void>
  ping?(): MaybePromise<boolean>
  close?(): MaybePromise<void>
}

/** What every contract version is read as by the adapter: version 2's members, sync-ness left open. */
export interface NormalBackend {
  readonly name: string
  readonly capabilities: BackendCapabilities
  readonly storeId?: string
  get(key: string): MaybePromise<unknown>
  set(key: string, value: unknown, ttlMs: number | undefined): MaybePromise<void>
  delete(key: string): MaybePromise<boolean>
  getMany?(keys: readonly string[]): MaybePromise<unknown[]>
  setMany?(entries: readonly BackendEntry<unknown>[]): MaybePromise<void>
  deleteMany?(keys: readonly string[]): MaybePromise<number>
  setNx?(key: string, value: unknown, ttlMs: number | undefined): MaybePromise<boolean>
  deleteIfEquals?(key: string, value: unknown): MaybePromise<boolean>
  incr?(key: string, delta: number, ttlMs: number | undefined): MaybePromise<number>
  expire?(key: string, ttlMs: number | undefined): MaybePromise<boolean>
  keys?(prefix: string): MaybePromise<Iterable<string>> | AsyncIterable<string>
  deletePrefix?(prefix: string): MaybePromise<number>
  ping?(): MaybePromise<boolean>
  close?(): MaybePromise<void>
  accelerations?(): Accelerations<boolean, unknown>
}

/**
 * A version 1 backend's speed-only members, as version 2 accelerations. Everything else of version 1
 * has the same name and meaning in version 2, so the backend object itself is used as it is.
 */
export function accelerationsOfV1(backend: BackendV1<unknown>): Accelerations<boolean, unknown> {
  const accelerations: Accelerations<boolean, unknown> = {}
  const { getIn, setIn, setGuarded, reclaimPrefix, operationTimeoutMs } = backend
  if (typeof getIn === 'function' && typeof setIn === 'function') {
    accelerations.scope = (namespace: string) =>
      ({
        get: (key: string) => getIn.call(backend, namespace, key),
        set: (key: string, value: unknown, ttlMs: number | undefined) =>
          setIn.call(backend, namespace, key, value, ttlMs),
      }) as ScopedStore<boolean, unknown>
  }
  if (typeof setGuarded === 'function') {
    accelerations.setGuarded = ((guard: BackendEntry<unknown>, entry: BackendEntry<unknown>) =>
      setGuarded.call(backend, guard, entry)) as Accelerations<boolean, unknown>['setGuarded']
  }
  if (typeof reclaimPrefix === 'function') {
    accelerations.reclaimPrefix = ((prefix: string) => reclaimPrefix.call(backend, prefix)) as Accelerations<
      boolean,
      unknown
    >['reclaimPrefix']
  }
  if (typeof operationTimeoutMs === 'number') accelerations.operationTimeoutMs = operationTimeoutMs
  return accelerations
}

/**
 * The accelerations a backend of any contract version offers (what `createCache` reads once): version 2's
 * `accelerations()`, or version 1's flat speed members. For tools that test or wrap backends.
 *
 * @example
 * const { setGuarded } = accelerationsOf(backend)
 */
export function accelerationsOf(backend: AnyBackend): Accelerations<boolean, unknown> {
  if (backend.specificationVersion === 1) return accelerationsOfV1(backend)
  const given = (backend as { accelerations?: unknown }).accelerations
  if (typeof given !== 'function') return {}
  return (given.call(backend) as Accelerations<boolean, unknown> | undefined) ?? {}
}
