import {
  type Accelerations,
  type AnyBackend,
  accelerationsOf,
  BACKEND_GROUPS,
  type BackendGroup,
} from '@rapide/core'

/** A method of one of the optional groups (`BACKEND_GROUPS`), or one of the optional single methods. */
export type OptionalMethod = (typeof BACKEND_GROUPS)[BackendGroup][number] | 'ping' | 'close'

/**
 * What a backend offers, read once from its manifest, its groups and its accelerations: the one place
 * where the kit decides which tests apply (no test looks for a method itself).
 */
export interface Applicability {
  readonly sync: boolean
  readonly shared: boolean
  readonly persistent: boolean
  readonly inProcessValues: boolean
  /** Nothing can interleave with the core's read-then-write: a synchronous store no other process uses. */
  readonly alone: boolean
  /** Every method of the group is implemented. */
  has(group: BackendGroup): boolean
  /**
   * One method is implemented: the contract check of that method applies. (A contract version 1 backend
   * may hold part of a group; version 2 refuses that at `createCache`, and its own check says so.)
   */
  implements(method: OptionalMethod): boolean
  /** `cache.setNx` / `incr` / `expire` / `lock` work: the atomics group, or emulated where nothing interleaves. */
  readonly atomics: boolean
  /** A batch of several writes is applied (natively by `setMany`, or as a loop where nothing interleaves). */
  readonly batchWrites: boolean
  /** `deletePattern` and `clear` work: the store can list keys. */
  readonly listing: boolean
  /**
   * `wrap(key, fn, { lock })` elects one computing process: a shared store with set-if-absent and
   * compare-and-delete. (The core ignores the option on an unshared store, and refuses it on a shared
   * store without them.)
   */
  readonly computationLock: boolean
  /** What `accelerations()` returned for the probe (contract version 1: its flat speed-only members). */
  readonly accelerations: Accelerations<boolean, unknown>
}

const cache = new WeakMap<object, Applicability>()

/** What `backend` offers (memoised per instance). */
export function applicability(backend: AnyBackend): Applicability {
  const known = cache.get(backend)
  if (known !== undefined) return known
  const { sync, shared, persistent, inProcessValues } = backend.capabilities
  const implemented = (method: string) =>
    typeof (backend as unknown as Record<string, unknown>)[method] === 'function'
  const has = (group: BackendGroup) => BACKEND_GROUPS[group].every(implemented)
  const alone = sync && !shared
  const found: Applicability = {
    sync,
    shared,
    persistent,
    inProcessValues,
    alone,
    has,
    implements: implemented,
    atomics: has('atomics') || alone,
    batchWrites: implemented('setMany') || alone,
    listing: implemented('keys'),
    computationLock: shared && implemented('setNx') && implemented('deleteIfEquals'),
    accelerations: accelerationsOf(backend),
  }
  cache.set(backend, found)
  return found
}

export { accelerationsOf }
