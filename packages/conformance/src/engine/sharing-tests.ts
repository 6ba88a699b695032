import type { AnyBackend } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { deferred, type Harness, sleep, uniqueName } from '../harness.js'
import {
  computationAcrossInvalidation,
  engineContext,
  FIRST_PLACEMENT,
  LEVELS,
  type Placement,
} from './engine-context.js'

/**
 * Sharing (backends that declare `shared`): two instances over one store, as two processes would hold
 * them, see each other's invalidations, race-free. Skipped, by name, on an unshared backend.
 */
export function sharingTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const context = engineContext(harness, placement)
  const { cacheOn } = context

  describe('sharing', () => {
    for (const level of LEVELS) {
      it.skipIf(!kit.shared)(
        `shared: race-free across instances: a computation running while another instance invalidates its ${level} never becomes visible`,
        async () => {
          // Two instances, as two processes would be: nothing in memory is shared, only the store.
          const domainKey = uniqueName('DOMAIN')
          const there = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
          const { slow, before, release } = await computationAcrossInvalidation(context, level, {
            cache: cacheOn(harness.backend(), { domainKey }),
            by: there,
            warm: true,
          })
          release()
          expect(await before).toBe('1v1')
          await sleep(10)
          // The late write of the first computation is in the store, but no instance may serve it.
          expect(await there.wrap('SLOW', async (id: number) => `${id}v2`)(1)).toBe('1v2')
          expect(await slow(1)).toBe('1v2')
        },
      )
    }

    it.skipIf(!kit.shared)(
      'shared: every invalidation level through one instance is seen through another',
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const one = cacheOn(harness.backend(), { domainKey })
        const two = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
        let version = 1
        const f1 = one.wrap('F', (n: number) => `${n}v${version}`)
        const f2 = two.wrap('F', (n: number) => `${n}v${version}`)
        expect(await f1(1)).toBe('1v1')
        version = 2
        expect(await f2(1)).toBe('1v1')
        await one.invalidateResult('F', 1)
        expect(await f2(1)).toBe('1v2')
        version = 3
        await two.invalidateFunc('F')
        expect(await f1(1)).toBe('1v3')
        version = 4
        await one.invalidateDomain()
        expect(await f2(1)).toBe('1v4')
      },
    )

    it.skipIf(!kit.shared)(
      'shared: a computation running in one instance across an invalidation in another stays invisible',
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const one = cacheOn(harness.backend(), { domainKey })
        const two = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
        let version = 1
        const gate = deferred()
        const started = deferred()
        const slow = one.wrap('SLOW', async (n: number) => {
          const seen = version
          started.resolve()
          await gate.promise
          return `${n}v${seen}`
        })
        const fast = two.wrap('SLOW', async (n: number) => `${n}v${version}`)
        const running = slow(1)
        await started.promise
        version = 2
        await two.invalidateResult('SLOW', 1)
        gate.resolve()
        expect(await running).toBe('1v1')
        expect(await fast(1)).toBe('1v2')
        expect(await slow(1)).toBe('1v2')
      },
    )
  })
}
