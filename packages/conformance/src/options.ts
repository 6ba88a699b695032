import type { AnyBackend } from '@rapide/core'

/** Options of {@link runBackendConformance}. */
export interface ConformanceOptions<B extends AnyBackend> {
  /** Shown in the suite name, e.g. `'sqlite'`. */
  name: string
  /**
   * Returns a fresh backend instance. For a backend that declares `shared`, every call must return an
   * instance over the same store (another connection to the same Redis, the same file...), and the
   * suite checks that instances see each other's writes. Isolation between tests comes from random
   * domains, so the store does not need to be emptied.
   */
  create: () => B
  /** Called with every instance the suite created once its tests are done. Default: `backend.close()`. */
  destroy?: (backend: B) => void | Promise<void>
  /**
   * The shortest TTL the backend honours precisely, in ms (default 1: millisecond precision).
   * Expiry tests wait a few multiples of it.
   */
  ttlGranularityMs?: number
  /**
   * Runs the backend's deferred housekeeping to completion (expiry sweeps, `reclaimPrefix` removals), for
   * a backend that does them in the background. With it, the suite also checks that dead keys go.
   */
  settle?: (backend: B) => void | Promise<void>
}
