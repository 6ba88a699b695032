import { checkBackend } from './check-backend.js'
import { type AnyBackend, BACKEND_GROUPS } from './contract.js'

/** How a backend serves one feature of the cache. */
export type FeatureStatus =
  /** By the backend's own methods. */
  | 'native'
  /** By the core, correctly, from simpler methods (a loop, read-then-write where nothing can interleave). */
  | 'emulated'
  /** Not available: calls that need it fail with `NotSupportedError`. */
  | 'refused'

/** One row of {@link describeBackend}. */
export interface FeatureSupport {
  /** What a user calls, e.g. `'cache.incr'`. */
  readonly feature: string
  readonly status: FeatureStatus
  /** The backend methods that make it native (for an author: implement these to unlock or speed it up). */
  readonly needs: readonly string[]
  /** Why it has this status, in a sentence. */
  readonly why: string
}

/**
 * What a backend gives the cache: each feature, whether it is native, emulated or refused, and which
 * methods would unlock it. The same policy as the adapter (`store.ts`), so the table cannot drift from
 * what calls actually do. The conformance kit prints it.
 *
 * @example
 * for (const row of describeBackend(new MyBackend())) console.log(row.feature, row.status)
 */
export function describeBackend(given: AnyBackend): FeatureSupport[] {
  const { backend, accelerations } = checkBackend(given)
  const { sync, shared } = backend.capabilities
  const has = (method: string) =>
    typeof (backend as unknown as Record<string, unknown>)[method] === 'function'
  const alone = sync && !shared
  const where = shared ? 'a shared store' : 'an asynchronous store'
  // A feature is unlocked by whole groups (half a group is refused by createCache): `needs` names them.
  const BATCHES = BACKEND_GROUPS.batches
  const ATOMICS = BACKEND_GROUPS.atomics
  const batches = has('setMany')
  const atomics = has('setNx')
  const listing = has('keys')
  const rows: FeatureSupport[] = [
    row('wrap (cached calls)', 'native', [], 'get/set/delete are enough'),
    row('invalidateResult / invalidateFunc / invalidateDomain', 'native', [], 'get/set/delete are enough'),
    batches
      ? row('cache.batch() (atomic invalidation batches)', 'native', BATCHES, 'setMany is atomic')
      : alone
        ? row(
            'cache.batch() (atomic invalidation batches)',
            'emulated',
            BATCHES,
            'a loop: nothing interleaves',
          )
        : row(
            'cache.batch() (atomic invalidation batches)',
            'refused',
            BATCHES,
            `a loop is not atomic on ${where}`,
          ),
    row('cache.get / set / delete', 'native', [], 'get/set/delete'),
    row(
      'cache.getMany / deleteMany',
      batches ? 'native' : 'emulated',
      BATCHES,
      batches ? 'one round trip' : 'a loop of get/delete',
    ),
    batches
      ? row('cache.setMany', 'native', BATCHES, 'atomic')
      : alone
        ? row('cache.setMany', 'emulated', BATCHES, 'a loop: nothing interleaves')
        : row('cache.setMany', 'refused', BATCHES, `a loop is not atomic on ${where}`),
  ]
  for (const feature of ['cache.setNx', 'cache.incr', 'cache.expire', 'cache.lock / unlock']) {
    rows.push(
      atomics
        ? row(feature, 'native', ATOMICS, 'the atomics group')
        : alone
          ? row(feature, 'emulated', ATOMICS, 'read-then-write: nothing interleaves')
          : row(feature, 'refused', ATOMICS, `read-then-write is not atomic on ${where}`),
    )
  }
  rows.push(
    row(
      'cache.deletePattern / clear',
      listing ? 'native' : 'refused',
      ['keys', 'deletePrefix'],
      listing ? 'the listing group' : 'the store cannot list keys',
    ),
  )
  if (shared) {
    rows.push(
      atomics
        ? row('wrap({ lock }) (cross-process single-flight)', 'native', ATOMICS, 'the atomics group')
        : row('wrap({ lock }) (cross-process single-flight)', 'refused', ATOMICS, 'needs atomics'),
    )
  }
  // Under local coordination (synchronous, unshared, not persistent) nothing is dead: counters move.
  if (!(sync && !shared && !backend.capabilities.persistent)) {
    const reclaims = typeof accelerations.reclaimPrefix === 'function'
    rows.push(
      reclaims
        ? row(
            'reclaiming results an invalidation made dead',
            'native',
            ['accelerations().reclaimPrefix'],
            'the backend does it',
          )
        : listing && (atomics || alone)
          ? row(
              'reclaiming results an invalidation made dead',
              'emulated',
              ['accelerations().reclaimPrefix'],
              'the core lists and compare-and-deletes in the background',
            )
          : row(
              'reclaiming results an invalidation made dead',
              'refused',
              ['accelerations().reclaimPrefix'],
              'dead results go by TTL or eviction only (the listing and atomics groups would let the core reclaim them)',
            ),
    )
    rows.push(
      typeof accelerations.setGuarded === 'function'
        ? row(
            'a miss in one write',
            'native',
            ['accelerations().setGuarded'],
            'result and generation in one step',
          )
        : row(
            'a miss in one write',
            'emulated',
            ['accelerations().setGuarded'],
            'the generation is written first (two writes)',
          ),
    )
  }
  return rows
}

function row(feature: string, status: FeatureStatus, needs: readonly string[], why: string): FeatureSupport {
  return { feature, status, needs, why }
}
