import { type Backend, createCache } from '@rapide/core'
import { asCliError } from './open-store.js'

export interface DomainTarget {
  readonly domain: string
  readonly prefix?: string
  readonly version?: string
}

/**
 * Invalidates through a real cache over the store, exactly as the app's own `invalidateDomain()` or
 * `invalidateFunc(F)` would: new generation tokens in one atomic write, so a running app sharing the
 * store never serves a result computed before, even one it is computing right now.
 */
export async function invalidateThroughCache(
  backend: Backend<unknown>,
  target: DomainTarget,
  functionKey: string | undefined,
): Promise<void> {
  try {
    const cache = createCache({
      domainKey: target.domain,
      backend,
      keyPrefix: target.prefix ?? '',
      ...(target.version === undefined ? {} : { version: target.version }),
      // Failures must reach the command (its exit code), not be swallowed as misses.
      onError: 'raise',
    })
    try {
      if (functionKey === undefined) await cache.invalidateDomain()
      else await cache.invalidateFunc(functionKey)
    } finally {
      // The dead space is left to the app's background reclamation (or `rapide clear`): closing stops ours.
      await cache.close()
    }
  } catch (error) {
    throw asCliError(error)
  }
}
