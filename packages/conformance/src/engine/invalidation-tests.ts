import { type AnyBackend, NotSupportedError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, sleep } from '../harness.js'
import {
  computationAcrossInvalidation,
  engineContext,
  FIRST_PLACEMENT,
  LEVELS,
  type Placement,
} from './engine-context.js'

/**
 * Invalidation in one instance: every level, batches, the function's shortcuts, isolation between
 * domains, and race-free invalidation (a computation running across an invalidation never becomes
 * visible, and a later call never joins it).
 */
export function invalidationTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const context = engineContext(harness, placement)
  const { cacheOn, newCache } = context

  describe('invalidation', () => {
    it('invalidateResult drops one result, invalidateFunc one function, invalidateDomain all', async () => {
      const cache = newCache()
      let version = 1
      const a = cache.wrap('A', (n: number) => `a${n}v${version}`)
      const b = cache.wrap('B', (n: number) => `b${n}v${version}`)
      await a(1)
      await a(2)
      await b(1)
      version = 2
      await cache.invalidateResult('A', 1)
      expect(await a(1)).toBe('a1v2')
      expect(await a(2)).toBe('a2v1')
      await cache.invalidateFunc('A')
      expect(await a(2)).toBe('a2v2')
      expect(await b(1)).toBe('b1v1')
      version = 3
      await cache.invalidateDomain()
      expect(await a(1)).toBe('a1v3')
      expect(await b(1)).toBe('b1v3')
    })

    it('results stored after an invalidation survive the backend reclaiming the dead ones', async () => {
      const backend = harness.backend()
      const cache = cacheOn(backend)
      let calls = 0
      const f = cache.wrap('F', (n: number) => {
        calls++
        return n
      })
      await f(1)
      await f(2)
      await cache.invalidateFunc('F')
      await f(1)
      await harness.options.settle?.(backend)
      expect(calls).toBe(3)
      expect(await f(1)).toBe(1)
      expect(calls).toBe(3)
      await cache.invalidateDomain()
      expect(await f(2)).toBe(2)
      await harness.options.settle?.(backend)
      expect(await f(2)).toBe(2)
      expect(calls).toBe(4)
      await cache.close()
    })

    it('the wrapped function’s shortcuts invalidate and refresh', async () => {
      const cache = newCache()
      let version = 1
      const f = cache.wrap('F', (n: number) => `${n}v${version}`)
      await f(1)
      await f(2)
      version = 2
      await f.invalidate(1)
      expect(await f(1)).toBe('1v2')
      expect(await f(2)).toBe('2v1')
      version = 3
      expect(await f.refresh(2)).toBe('2v3')
      expect(await f(2)).toBe('2v3')
      version = 4
      await f.invalidateAll()
      expect(await f(1)).toBe('1v4')
    })

    it.skipIf(kit.batchWrites)('a backend whose batches would not be atomic refuses a batch', async () => {
      const cache = newCache()
      await expect(async () =>
        cache.batch().invalidateFunc('A').invalidateFunc('B').commit(),
      ).rejects.toThrow(NotSupportedError)
    })

    it.skipIf(!kit.batchWrites)('a batch of invalidations applies together', async () => {
      const cache = newCache()
      let version = 1
      const a = cache.wrap('A', (n: number) => `a${n}v${version}`)
      const b = cache.wrap('B', (n: number) => `b${n}v${version}`)
      await a(1)
      await a(2)
      await b(1)
      version = 2
      await cache.batch().invalidateResult('A', 1).invalidateFunc('B').commit()
      expect(await a(1)).toBe('a1v2')
      expect(await a(2)).toBe('a2v1')
      expect(await b(1)).toBe('b1v2')
    })

    for (const level of LEVELS) {
      it(`race-free: a computation running across a ${level} invalidation never becomes visible`, async () => {
        const { slow, before, release } = await computationAcrossInvalidation(context, level)
        // The old computation finishes after the invalidation, with nothing else writing the key...
        release()
        expect(await before).toBe('1v1')
        await sleep(10)
        // ...and its late write must not be served.
        expect(await slow(1)).toBe('1v2')
      })

      it(`race-free: a call after a ${level} invalidation does not join the computation running before it`, async () => {
        const { slow, before, release } = await computationAcrossInvalidation(context, level)
        const after = slow(1)
        release()
        expect(await before).toBe('1v1')
        expect(await after).toBe('1v2')
        expect(await slow(1)).toBe('1v2')
      })
    }

    it('domains are isolated: invalidateDomain and clear touch one domain only', async () => {
      const backend = harness.backend()
      const one = cacheOn(backend)
      const two = cacheOn(backend)
      let version = 1
      const f1 = one.wrap('F', (n: number) => `one${n}v${version}`)
      const f2 = two.wrap('F', (n: number) => `two${n}v${version}`)
      await f1(1)
      await f2(1)
      await one.set('k', 'one')
      await two.set('k', 'two')
      version = 2
      await one.invalidateDomain()
      expect(await f1(1)).toBe('one1v2')
      expect(await f2(1)).toBe('two1v1')
      expect(await two.get('k')).toBe('two')
      if (kit.listing) {
        await one.clear()
        expect(await one.get('k')).toBeUndefined()
        expect(await two.get('k')).toBe('two')
        expect(await f2(1)).toBe('two1v1')
      }
    })
  })
}
