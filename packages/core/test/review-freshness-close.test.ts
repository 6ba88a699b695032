import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { createCache } from '../src/index.js'
import { SharedStoreBackend } from './support/backends.js'

const SECOND = 1000
beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
  })
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => vi.useRealTimers())
it('close() waits for a computation a soft timeout left running, and for a scheduled stale refresh', async () => {
  const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
  let version = 1
  let finished = 0
  const f = cache.wrap(
    'F',
    async (n: number) => {
      const v = version
      if (v > 1) await new Promise((r) => setTimeout(r, 5 * SECOND))
      finished++
      return `v${v}-${n}`
    },
    { ttl: '1m', failSafe: '1h', staleWhileRevalidate: '1m', softTimeout: '1s' },
  )
  await f(1)
  await f(2)
  vi.advanceTimersByTime(3 * 60 * SECOND)
  version = 2
  const a = f(1)
  await vi.advanceTimersByTimeAsync(1100)
  expect(await a).toBe('v1-1')
  let closed = false
  const c = cache.close().then(() => {
    closed = true
  })
  await vi.advanceTimersByTimeAsync(1000)
  expect(closed).toBe(false)
  await vi.advanceTimersByTimeAsync(5 * SECOND)
  await c
  expect(finished).toBe(3)
})
