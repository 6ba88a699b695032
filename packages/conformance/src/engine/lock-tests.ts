import type { AnyBackend } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, sleep } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/** Locks (`cache.lock` / `unlock` / `isLocked`): the atomics group, or emulated where nothing interleaves. */
export function lockTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const { newCache } = engineContext(harness, placement)

  describe('locks', () => {
    it.skipIf(!kit.atomics)('locks: one holder at a time, released only by its token, expiring', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache()
      const token = await cache.lock('job', { ttl: `${40 * unit}ms` })
      expect(typeof token).toBe('string')
      expect(await cache.lock('job', { ttl: 10 })).toBeUndefined()
      expect(await cache.isLocked('job')).toBe(true)
      expect(await cache.unlock('job', 'not-the-token')).toBe(false)
      expect(await cache.unlock('job', token!)).toBe(true)
      expect(await cache.isLocked('job')).toBe(false)
      await cache.lock('job', { ttl: `${20 * unit}ms` })
      await sleep(50 * unit)
      expect(await cache.isLocked('job')).toBe(false)
    })
  })
}
