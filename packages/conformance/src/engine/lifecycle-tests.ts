import { type AnyBackend, BackendError, type Cache, ClosedError, createCache } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { accelerationsOf } from '../applicability.js'
import { type Harness, uniqueName } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/** A closed cache refuses everything; a failing backend follows the error policy. */
export function lifecycleTests<B extends AnyBackend>(
  harness: Harness<B>,
  _probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const { newCache } = engineContext(harness, placement)

  describe('lifecycle and errors', () => {
    it('a closed cache refuses calls, invalidations and key-value operations with ClosedError', async () => {
      const cache = newCache()
      const f = cache.wrap('F', (n: number) => n)
      await f(1)
      await cache.close()
      await cache.close()
      await expect(async () => f(1)).rejects.toThrow(ClosedError)
      await expect(async () => cache.invalidateFunc('F')).rejects.toThrow(ClosedError)
      await expect(async () => cache.get('k')).rejects.toThrow(ClosedError)
    })

    it('error policy: a failing backend computes (silent) or raises a typed error (raise)', async () => {
      const failing = failingReadsAndWrites(harness.backend())
      const silent: Cache<B> = createCache({ domainKey: uniqueName('DOMAIN'), backend: failing })
      const errors: unknown[] = []
      silent.on('error', ({ error }) => errors.push(error))
      const f = silent.wrap('F', (n: number) => n + 1)
      expect(await f(1)).toBe(2)
      expect(errors[0]).toBeInstanceOf(BackendError)
      const raising = createCache({ domainKey: uniqueName('DOMAIN'), backend: failing, onError: 'raise' })
      const g = raising.wrap('G', (n: number) => n + 1)
      await expect(async () => g(1)).rejects.toThrow(BackendError)
    })
  })
}

/** `backend` whose reads and writes throw, through its methods and its scoped views alike. */
function failingReadsAndWrites<B extends AnyBackend>(backend: B): B {
  const fail = () => {
    throw new Error('disk on fire')
  }
  return new Proxy(backend, {
    get(target, property, receiver) {
      const own: unknown = Reflect.get(target, property, receiver)
      if (
        typeof own === 'function' &&
        ['get', 'getIn', 'getMany', 'set', 'setIn'].includes(property as string)
      ) {
        return fail
      }
      if (property === 'accelerations' && target.specificationVersion !== 1) {
        return () => {
          const { scope, ...rest } = accelerationsOf(target)
          return scope ? { ...rest, scope: () => ({ get: fail, set: fail }) } : rest
        }
      }
      return own
    },
  }) as B
}
