import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../src/index.js'
import { SharedStoreBackend } from './support/backends.js'

const SECOND = 1000
beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
  })
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})
const settle = async () => {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(1)
}

function source() {
  const state = { version: 1, computations: 0 }
  const fn = async (n: number) => {
    state.computations++
    return `v${state.version}-${n}`
  }
  return { state, fn }
}

describe('regression (review R13), was: with `lock`, the lock holder finds the expired-but-kept result and answers it instead of computing', () => {
  it('failSafe + lock: past the ttl, the result is never recomputed until the grace ends', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    const { state, fn } = source()
    const f = cache.wrap('F', fn, { ttl: '1m', failSafe: '1d', lock: { ttl: '10s' } })
    expect(await f(1)).toBe('v1-1')
    state.version = 2
    vi.advanceTimersByTime(5 * 60 * SECOND) // 4 minutes past the ttl
    const got = await f(1)
    expect({ got, computations: state.computations }).toEqual({ got: 'v2-1', computations: 2 })
    await cache.close()
  })

  it('staleWhileRevalidate + lock: the background refresh never refreshes', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    const { state, fn } = source()
    const f = cache.wrap('F', fn, { ttl: '1m', staleWhileRevalidate: '10m', lock: { ttl: '10s' } })
    expect(await f(1)).toBe('v1-1')
    state.version = 2
    vi.advanceTimersByTime(61 * SECOND)
    expect(await f(1)).toBe('v1-1') // stale, refresh in the background
    await settle()
    expect({ next: await f(1), computations: state.computations }).toEqual({ next: 'v2-1', computations: 2 })
    await cache.close()
  })

  it('earlyRefresh + lock: the early refresh never refreshes', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    const state = { version: 1, computations: 0 }
    const f = cache.wrap(
      'F',
      async (n: number) => {
        state.computations++
        await new Promise((r) => setTimeout(r, 2 * SECOND))
        return `v${state.version}-${n}`
      },
      { ttl: '1m', earlyRefresh: true, lock: { ttl: '10s' } },
    )
    const first = f(1)
    await vi.advanceTimersByTimeAsync(2 * SECOND)
    expect(await first).toBe('v1-1')
    state.version = 2
    vi.advanceTimersByTime(55 * SECOND)
    vi.spyOn(Math, 'random').mockReturnValue(Number.MIN_VALUE)
    expect(await f(1)).toBe('v1-1')
    await vi.advanceTimersByTimeAsync(3 * SECOND) // the refresh would take 2 s
    vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON)
    expect(state.computations).toBe(2)
    await cache.close()
  })

  it('neverDie + lock: the keep-alive refresh never refreshes; callers then wait', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    const { state, fn } = source()
    const f = cache.wrap('F', fn, { ttl: '100s', neverDie: { idle: '1h' }, lock: { ttl: '10s' } })
    expect(await f(1)).toBe('v1-1')
    state.version = 2
    await vi.advanceTimersByTimeAsync(95 * SECOND)
    expect(state.computations).toBe(2)
    await cache.close()
  })
})
