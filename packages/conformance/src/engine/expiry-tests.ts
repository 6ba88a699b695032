import type { AnyBackend } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, sleep } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/** Expiry through the cache: results and key-value entries go after their TTL, `expire()` sets one. */
export function expiryTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const { newCache } = engineContext(harness, placement)

  describe('expiry', () => {
    it('results expire after their ttl', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache({ defaultTtl: `${30 * unit}ms` })
      let calls = 0
      const f = cache.wrap('F', (n: number) => {
        calls++
        return n
      })
      await f(1)
      await f(1)
      expect(calls, 'the second call should be a hit: does get() return what set() stored?').toBe(1)
      await sleep(80 * unit)
      await f(1)
      expect(
        calls,
        'the result did not expire: does set() honour ttlMs, and get() ignore expired keys?',
      ).toBe(2)
    })

    it('a per-function ttl overrides the default', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache({ defaultTtl: 3600 })
      let calls = 0
      const f = cache.wrap(
        'F',
        (n: number) => {
          calls++
          return n
        },
        { ttl: `${30 * unit}ms` },
      )
      await f(1)
      await sleep(80 * unit)
      await f(1)
      expect(calls).toBe(2)
    })

    it('key-value: expiry and expire()', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache()
      await cache.set('short', 1, { ttl: `${20 * unit}ms` })
      await cache.set('long', 2)
      if (kit.atomics) expect(await cache.expire('long', `${20 * unit}ms`)).toBe(true)
      await sleep(50 * unit)
      expect(await cache.get('short')).toBeUndefined()
      if (kit.atomics) expect(await cache.get('long')).toBeUndefined()
    })
  })
}
