import { type AnyBackend, type Cache, createCache } from '@rapide/core'
import { deferred, type Harness, uniqueName } from '../harness.js'

/** Where a run of the engine tests puts its data: the second run uses another prefix to catch leaks. */
export interface Placement {
  readonly label: string
  readonly keyPrefix: string
}

/** The first run's placement: no key prefix. */
export const FIRST_PLACEMENT: Placement = { label: 'first domain', keyPrefix: '' }

/** Options of a cache made by a test: its TTL, or a domain shared with another instance. */
export interface CacheExtras {
  defaultTtl?: number | `${number}ms`
  domainKey?: string
}

/** How the engine tests build caches over the backend, in their placement. */
export interface EngineContext<B extends AnyBackend> {
  readonly harness: Harness<B>
  readonly placement: Placement
  /** A cache over `backend` (a fresh domain unless given), errors raised. */
  cacheOn(backend: B, extra?: CacheExtras): Cache<B>
  /** A cache over a fresh instance. */
  newCache(extra?: CacheExtras): Cache<B>
}

export function engineContext<B extends AnyBackend>(
  harness: Harness<B>,
  placement: Placement,
): EngineContext<B> {
  const cacheOn = (backend: B, extra: CacheExtras = {}) =>
    createCache({
      domainKey: extra.domainKey ?? uniqueName('DOMAIN'),
      backend,
      keyPrefix: placement.keyPrefix,
      ...(extra.defaultTtl === undefined ? {} : { defaultTtl: extra.defaultTtl }),
      onError: 'raise',
    })
  return { harness, placement, cacheOn, newCache: (extra) => cacheOn(harness.backend(), extra) }
}

export type Level = 'result' | 'function' | 'domain'
export const LEVELS: readonly Level[] = ['result', 'function', 'domain']

/**
 * A slow function whose first computation for `1` has started (it read version 1) and is held open
 * while version 2 is published and the given level is invalidated, through `by` (another instance
 * over the same store, or the cache itself). `warm`: the function has been called before, so only the
 * result's own generation is new (on a backend with `setGuarded`, it is then written with the result).
 */
export async function computationAcrossInvalidation<B extends AnyBackend>(
  context: EngineContext<B>,
  level: Level,
  {
    cache = context.newCache(),
    by = cache,
    warm = false,
  }: { cache?: Cache<B>; by?: Cache<B>; warm?: boolean } = {},
) {
  let version = 1
  const gate = deferred()
  const started = deferred()
  const slow = cache.wrap('SLOW', async (id: number) => {
    const seen = version
    if (id === 1) {
      started.resolve()
      await gate.promise
    }
    return `${id}v${seen}`
  })
  if (warm) await slow(0)
  const before = slow(1)
  await started.promise
  version = 2
  if (level === 'result') await by.invalidateResult('SLOW', 1)
  else if (level === 'function') await by.invalidateFunc('SLOW')
  else await by.invalidateDomain()
  return { slow, before, release: () => gate.resolve() }
}
