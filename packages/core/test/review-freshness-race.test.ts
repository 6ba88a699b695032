import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../src/index.js'
import { SharedStoreBackend, SyncMapBackend } from './support/backends.js'

const SECOND = 1000
beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
  })
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => {
  vi.useRealTimers()
})

for (const [name, make] of [
  ['local', () => new SyncMapBackend()],
  ['shared', () => new SharedStoreBackend(new Map())],
] as const) {
  describe(`R12 an invalidation that returned while a fallback-carrying computation ran (${name})`, () => {
    for (const mode of ['failSafe', 'softTimeout'] as const) {
      it(`${mode}: the pre-invalidation result is served after the invalidation returned`, async () => {
        const cache = createCache({ domainKey: 'D', backend: make() as never })
        let version = 1
        let fail = false
        const f = cache.wrap(
          'F',
          async (n: number) => {
            const v = version
            if (v > 1) await new Promise((r) => setTimeout(r, 5 * SECOND))
            if (fail) throw new Error('down')
            return `v${v}-${n}`
          },
          { ttl: '1m', failSafe: '1h', ...(mode === 'softTimeout' ? { softTimeout: '1s' } : {}) },
        )
        expect(await f(1)).toBe('v1-1')
        vi.advanceTimersByTime(2 * 60 * SECOND)
        version = 2
        fail = mode === 'failSafe'
        const answer = f(1) // a computation with v1-1 as its fallback
        await vi.advanceTimersByTimeAsync(100)
        // The data changes: the writer invalidates, and the invalidation returns.
        await f.invalidate(1)
        const settled = answer.then(
          (v) => v,
          (e: Error) => `error: ${e.message}`,
        )
        await vi.advanceTimersByTimeAsync(6 * SECOND)
        // README: "A result made obsolete by an invalidation is never served, whatever the strategy".
        expect(await settled).not.toBe('v1-1')
        await cache.close()
      })
    }
  })
}
