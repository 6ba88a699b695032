import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCache, InvalidOptionError, RateLimitError, type WrapOptions } from '../src/index.js'
import {
  CountingStoreBackend,
  FullMapBackend,
  SharedStoreBackend,
  SyncMapBackend,
} from './support/backends.js'

// Rate limit, hit limit, perf-triggered caching, expiry management and linked invalidation, with a
// controllable clock.

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

const settle = () => vi.advanceTimersByTimeAsync(1)

/** Every kind of store: local coordination (live values) and shared coordination (bytes, sync). */
const stores = [
  ['local coordination', () => new FullMapBackend(false)],
  ['shared coordination', () => new FullMapBackend(true)],
] as const

function counted<T>(compute: (n: number) => T) {
  const state = { computations: 0 }
  const fn = (n: number) => {
    state.computations++
    return compute(n)
  }
  return { state, fn }
}

for (const [name, backend] of stores) {
  describe(`rateLimit (${name})`, () => {
    it('at most `limit` calls per period with the same arguments, hits included; then RateLimitError', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { fn } = counted((n) => n * 2)
      const f = cache.wrap('F', fn, { ttl: '1h', rateLimit: { limit: 3, period: '1m' } })
      vi.setSystemTime(new Date('2026-01-01T00:00:10Z'))
      expect([f(1), f(1), f(1)]).toEqual([2, 2, 2])
      let refused: unknown
      try {
        f(1)
      } catch (error) {
        refused = error
      }
      expect(refused).toBeInstanceOf(RateLimitError)
      expect(refused).toMatchObject({ code: 'E_RATE_LIMITED', limit: 3, retryAfterMs: 50 * SECOND })
      // Other arguments have their own count; the next period starts afresh.
      expect(f(2)).toBe(4)
      vi.advanceTimersByTime(50 * SECOND)
      expect(f(1)).toBe(2)
    })

    it('onLimit answers instead of throwing', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const f = cache.wrap('F', (n: number) => n, {
        ttl: '1h',
        rateLimit: { limit: 1, period: '1s', onLimit: (n: number) => -n },
      })
      expect(f(5)).toBe(5)
      expect(f(5)).toBe(-5)
    })

    it('bad options are refused', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      expect(() => cache.wrap('A', (n: number) => n, { rateLimit: { limit: 0, period: '1s' } })).toThrow(
        /rateLimit.limit must be a positive integer/,
      )
      expect(() =>
        cache.wrap('B', (n: number) => n, { rateLimit: { limit: 1, period: '1s', onLimit: 1 as never } }),
      ).toThrow(/onLimit must be a function/)
    })
  })

  describe(`hitLimit (${name})`, () => {
    it('a result is dropped after `hits` hits, and refreshed `refreshBefore` hits earlier', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      let version = 1
      const { state, fn } = counted((n) => `v${version}-${n}`)
      const f = cache.wrap('F', fn, { ttl: '1h', hitLimit: { hits: 5, refreshBefore: 2 } })
      expect(f(1)).toBe('v1-1') // computed
      expect([f(1), f(1)]).toEqual(['v1-1', 'v1-1']) // hits 1, 2
      version = 2
      expect(f(1)).toBe('v1-1') // hit 3: refresh ahead, in the background
      await settle()
      expect(state.computations).toBe(2)
      expect(f(1)).toBe('v2-1') // the refreshed result, its count started again
      for (let i = 0; i < 4; i++) f(1)
      await settle()
      expect(state.computations).toBe(3) // refreshed again at its third hit
    })

    it('without refreshBefore: the next call after the limit computes', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = counted((n) => n)
      const f = cache.wrap('F', fn, { ttl: '1h', hitLimit: { hits: 3 } })
      for (let i = 0; i < 4; i++) f(1) // computed, then 3 hits: dropped
      expect(state.computations).toBe(1)
      f(1)
      expect(state.computations).toBe(2)
    })

    it('is refused with neverDie, and with a refreshBefore of hits or more', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      expect(() =>
        cache.wrap('A', (n: number) => n, { ttl: '1h', hitLimit: { hits: 3 }, neverDie: true }),
      ).toThrow(InvalidOptionError)
      expect(() =>
        cache.wrap('B', (n: number) => n, { ttl: '1h', hitLimit: { hits: 3, refreshBefore: 3 } }),
      ).toThrow(/refreshBefore must be an integer from 0 to hits − 1/)
    })
  })

  describe(`cacheWhenSlow (${name})`, () => {
    it('results are stored only once computing has become slow against its recent history', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      let costMs = 10
      const state = { computations: 0 }
      const f = cache.wrap(
        'F',
        (n: number) => {
          state.computations++
          vi.advanceTimersByTime(costMs) // the computation takes costMs on the (fake) clock
          return n
        },
        { ttl: '1h', cacheWhenSlow: { factor: 2 } },
      )
      for (let i = 0; i < 5; i++) f(1)
      expect(state.computations).toBe(5) // fast: never cached
      costMs = 50
      f(1) // slow: this one is stored
      f(1)
      f(1)
      expect(state.computations).toBe(6)
    })
  })

  describe(`expiry management (${name})`, () => {
    it('setExpiry: a shorter ttl applies to stored results at once, and to new ones', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = counted((n) => n)
      const f = cache.wrap('F', fn, { ttl: '1h' })
      f(1)
      vi.advanceTimersByTime(10 * 60 * SECOND)
      f(1)
      expect(state.computations).toBe(1)
      f.setExpiry('5m')
      f(1) // stored 10 min ago: expired under the new ttl
      expect(state.computations).toBe(2)
      vi.advanceTimersByTime(4 * 60 * SECOND)
      f(1)
      expect(state.computations).toBe(2)
      vi.advanceTimersByTime(2 * 60 * SECOND)
      f(1)
      expect(state.computations).toBe(3)
      expect(() => cache.setExpiry('NOT_WRAPPED', '1m')).toThrow(/no function is wrapped under this key/)
    })

    it('flushExpired removes the expired results and answers how many; clear removes them all', () => {
      const store = backend()
      const cache = createCache({ domainKey: 'D', backend: store })
      const { state, fn } = counted((n) => n)
      const f = cache.wrap('F', fn, { ttl: '1h' })
      f(1)
      f(2)
      vi.advanceTimersByTime(30 * 60 * SECOND)
      f(3)
      f.setExpiry('20m') // 1 and 2 are now expired, 3 is not
      expect(f.flushExpired()).toBe(2)
      expect(f.flushExpired()).toBe(0)
      f(3)
      expect(state.computations).toBe(3)
      expect(f.clear()).toBe(1)
      f(3)
      expect(state.computations).toBe(4)
      expect(cache.clearFunc('F')).toBe(1)
    })
  })

  describe(`linked invalidation (${name})`, () => {
    it('a successful write path invalidates its targets before answering; a failed one nothing', () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const names = new Map([[1, 'Ada']])
      const getName = cache.wrap('GET_NAME', (id: number) => names.get(id))
      const listNames = cache.wrap('LIST_NAMES', () => [...names.values()].join(','))
      const rename = cache.invalidator(
        (id: number, name: string) => {
          if (name === '') throw new Error('empty name')
          names.set(id, name)
          return name.length
        },
        { invalidates: [{ target: getName, args: (_length, id) => [id] }, 'LIST_NAMES'] },
      )
      expect(getName(1)).toBe('Ada')
      expect(listNames()).toBe('Ada')
      expect(rename(1, 'Grace')).toBe(5)
      expect(getName(1)).toBe('Grace')
      expect(listNames()).toBe('Grace')
      names.set(1, 'changed behind the cache')
      expect(() => rename(1, '')).toThrow('empty name')
      expect(getName(1)).toBe('Grace') // not invalidated: the write failed
      expect(() => cache.invalidator((n: number) => n, { invalidates: [42 as never] })).toThrow(
        /must be a wrapped function, a function key or \{ target, args \}/,
      )
    })
  })
}

describe('strategies on an asynchronous shared backend', () => {
  it('linked invalidation of an async write path waits for the invalidation', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    let value = 1
    const get = cache.wrap('GET', async () => value)
    const write = cache.invalidator(
      async (next: number) => {
        value = next
      },
      { invalidates: [get] },
    )
    expect(await get()).toBe(1)
    await write(2)
    expect(await get()).toBe(2)
    await cache.close()
  })

  it('rateLimit on a shared store: every process shares one limit', async () => {
    const shared = new Map()
    const one = createCache({ domainKey: 'D', backend: new CountingStoreBackend(shared) })
    const two = createCache({ domainKey: 'D', backend: new CountingStoreBackend(shared) })
    const options: WrapOptions<[number]> = { ttl: '1h', rateLimit: { limit: 3, period: '1m' } }
    const f1 = one.wrap('F', async (n: number) => n, options)
    const f2 = two.wrap('F', async (n: number) => n, options)
    expect(await Promise.all([f1(1), f2(1), f1(1)])).toEqual([1, 1, 1])
    await expect(f2(1)).rejects.toBeInstanceOf(RateLimitError)
    await expect(f1(1)).rejects.toBeInstanceOf(RateLimitError)
    vi.advanceTimersByTime(60 * SECOND)
    expect(await f2(1)).toBe(1)
    await one.close()
    await two.close()
  })

  it('rateLimit refuses a shared store without atomic counters, saying why', () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    expect(() => cache.wrap('F', async (n: number) => n, { rateLimit: { limit: 1, period: '1s' } })).toThrow(
      /needs atomic counters/,
    )
  })

  it('rateLimit on the memory-like local store counts in the process', () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    const f = cache.wrap('F', (n: number) => n, { ttl: '1m', rateLimit: { limit: 1, period: '1s' } })
    f(1)
    expect(() => f(1)).toThrow(RateLimitError)
  })
})
