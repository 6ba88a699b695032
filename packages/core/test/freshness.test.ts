import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type CacheEvents,
  createCache,
  InvalidOptionError,
  InvalidTtlError,
  type WrapOptions,
} from '../src/index.js'
import { SharedStoreBackend, SyncMapBackend } from './support/backends.js'

// Freshness and resilience strategies, with a controllable clock: Date, timers and immediates are fake,
// so "an hour later" is one call, never a sleep.

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

/** Lets background work (an immediate, then promise callbacks) run. */
const settle = () => vi.advanceTimersByTimeAsync(1)

const coordinations = [
  ['local coordination (live values)', () => new SyncMapBackend()],
  ['shared coordination (bytes, async)', () => new SharedStoreBackend(new Map())],
] as const

/** A function returning `v<version>` of its argument, counting its computations. */
function source() {
  const state = { version: 1, computations: 0, fail: undefined as Error | undefined, delayMs: 0 }
  const fn = async (n: number) => {
    state.computations++
    const version = state.version
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs))
    if (state.fail !== undefined) throw state.fail
    return `v${version}-${n}`
  }
  return { state, fn }
}

function staleEvents(cache: { on: (e: 'stale', l: (p: CacheEvents['stale']) => void) => unknown }) {
  const events: CacheEvents['stale'][] = []
  cache.on('stale', (event) => events.push(event))
  return events
}

describe('a wrap asking for strategies that cannot work together is refused, saying why', () => {
  const cache = () => createCache({ domainKey: 'D', backend: new SyncMapBackend() })
  const fn = (n: number) => n
  it.each([
    [{ staleWhileRevalidate: '1m' }, /act when a result reaches its ttl, and this function has none/],
    [
      { ttl: '1m', softTimeout: '1s' },
      /softTimeout answers a slow computation with the result kept .* add failSafe/,
    ],
    [{ ttl: '1m', staleWhileRevalidate: '1m', softTimeout: '1s' }, /add failSafe/],
    [{ ttl: '1m', failSafe: '1h', softTimeout: '30d' }, /softTimeout must be at most/],
    [{ ttl: '1m', earlyRefresh: true, neverDie: true }, /earlyRefresh and neverDie both refresh/],
    [{ ttl: '1m', earlyRefresh: { beta: 0 } }, /beta must be a positive number/],
    [{ ttl: '1m', neverDie: { at: 1.5 } }, /neverDie.at must be a fraction/],
    [
      { ttl: '1m', failSafe: { grace: '1h', on: 'Error' as never } },
      /must be a list of error classes or a predicate/,
    ],
    [{ ttl: '1m', cacheIf: 'yes' as never }, /cacheIf must be a function/],
  ] as [WrapOptions<[number]>, RegExp][])('%j', (options, message) => {
    expect(() => cache().wrap('F', fn, options)).toThrow(InvalidOptionError)
    expect(() => cache().wrap('F', fn, options)).toThrow(message)
  })

  it('a duration that is not one is an InvalidTtlError naming the option', () => {
    expect(() => cache().wrap('F', fn, { ttl: '1m', staleWhileRevalidate: '-1s' })).toThrow(InvalidTtlError)
    expect(() => cache().wrap('F', fn, { ttl: '1m', failSafe: 'soon' as never })).toThrow(/failSafe.grace/)
  })

  it('a cache defaultTtl is a ttl', () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend(), defaultTtl: '1m' })
    expect(() => cache.wrap('F', fn, { staleWhileRevalidate: '1m' })).not.toThrow()
  })
})

for (const [name, backend] of coordinations) {
  describe(`stale-while-revalidate (${name})`, () => {
    it('past its ttl, within the window: answered at once, refreshed once in the background', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const stale = staleEvents(cache)
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', staleWhileRevalidate: '10m' })
      expect(await f(1)).toBe('v1-1')
      state.version = 2
      vi.advanceTimersByTime(61 * SECOND)
      // Three calls before the refresh runs: all stale, one refresh.
      expect(await Promise.all([f(1), f(1), f(1)])).toEqual(['v1-1', 'v1-1', 'v1-1'])
      expect(stale.map((event) => event.reason)).toContain('staleWhileRevalidate')
      await settle()
      await settle()
      expect(state.computations).toBe(2)
      expect(await f(1)).toBe('v2-1')
      expect(state.computations).toBe(2)
      await cache.close()
    })

    it('past the window: computed, the caller waits', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', staleWhileRevalidate: '10m' })
      await f(1)
      state.version = 2
      vi.advanceTimersByTime(12 * 60 * SECOND)
      expect(await f(1)).toBe('v2-1')
      await cache.close()
    })

    it('an invalidated result is never answered as stale', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', staleWhileRevalidate: '10m' })
      await f(1)
      vi.advanceTimersByTime(61 * SECOND)
      state.version = 2
      await f.invalidate(1)
      expect(await f(1)).toBe('v2-1')
      state.version = 3
      await cache.invalidateDomain()
      expect(await f(1)).toBe('v3-1')
      await cache.close()
    })
  })

  describe(`fail-safe (${name})`, () => {
    class Outage extends Error {}

    it('a failed computation is answered with the last good result within the grace window, and reported', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const stale = staleEvents(cache)
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', failSafe: '1h' })
      await f(1)
      vi.advanceTimersByTime(10 * 60 * SECOND)
      state.fail = new Outage('down')
      expect(await f(1)).toBe('v1-1')
      expect(stale).toEqual([
        { functionKey: 'F', key: expect.any(String), reason: 'failSafe', error: state.fail },
      ])
      // Past the grace window: the error.
      vi.advanceTimersByTime(60 * 60 * SECOND)
      await expect(f(1)).rejects.toThrow('down')
      await cache.close()
    })

    it('only the errors it covers', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', failSafe: { grace: '1h', on: [Outage] } })
      await f(1)
      vi.advanceTimersByTime(2 * 60 * SECOND)
      state.fail = new TypeError('a bug')
      await expect(f(1)).rejects.toThrow('a bug')
      state.fail = new Outage('down')
      expect(await f(1)).toBe('v1-1')
      await cache.close()
    })

    it('never with a result made obsolete by an invalidation', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', failSafe: '1h' })
      await f(1)
      vi.advanceTimersByTime(2 * 60 * SECOND)
      await f.invalidate(1)
      state.fail = new Outage('down')
      await expect(f(1)).rejects.toThrow('down')
      await cache.close()
    })

    it('a synchronous function that throws', () => {
      const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
      let fail = false
      const f = cache.wrap(
        'F',
        (n: number) => {
          if (fail) throw new Outage('down')
          return n * 2
        },
        { ttl: '1m', failSafe: '1h' },
      )
      expect(f(2)).toBe(4)
      vi.advanceTimersByTime(2 * 60 * SECOND)
      fail = true
      expect(f(2)).toBe(4)
    })
  })

  describe(`soft timeout (${name})`, () => {
    it('a slow computation is answered with the kept result, and goes on to store its own', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const stale = staleEvents(cache)
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', failSafe: '1h', softTimeout: '200ms' })
      await f(1)
      vi.advanceTimersByTime(2 * 60 * SECOND)
      state.version = 2
      state.delayMs = 5 * SECOND
      const answer = f(1)
      await vi.advanceTimersByTimeAsync(250)
      expect(await answer).toBe('v1-1')
      expect(stale.map((event) => event.reason)).toEqual(['softTimeout'])
      await vi.advanceTimersByTimeAsync(5 * SECOND)
      state.delayMs = 0
      expect(await f(1)).toBe('v2-1')
      expect(state.computations).toBe(2)
      await cache.close()
    })

    it('a computation within the bound answers itself', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', failSafe: '1h', softTimeout: '200ms' })
      await f(1)
      vi.advanceTimersByTime(2 * 60 * SECOND)
      state.version = 2
      state.delayMs = 100
      const answer = f(1)
      await vi.advanceTimersByTimeAsync(150)
      expect(await answer).toBe('v2-1')
      await cache.close()
    })

    it('a cold key has nothing to answer with: the caller waits', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', failSafe: '1h', softTimeout: '200ms' })
      state.delayMs = SECOND
      const answer = f(1)
      await vi.advanceTimersByTimeAsync(1100)
      expect(await answer).toBe('v1-1')
      await cache.close()
    })
  })

  describe(`early refresh, XFetch (${name})`, () => {
    it('a hit drawn for an early refresh is answered, and refreshed once in the background', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1m', earlyRefresh: true })
      state.delayMs = 2 * SECOND // δ, the computation time XFetch weighs
      const first = f(1)
      await vi.advanceTimersByTimeAsync(2 * SECOND)
      expect(await first).toBe('v1-1')
      state.delayMs = 0
      state.version = 2
      vi.advanceTimersByTime(50 * SECOND)
      // rand → 1: −ln(rand) ≈ 0, so no draw before expiry.
      vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON)
      expect(await f(1)).toBe('v1-1')
      await settle()
      expect(state.computations).toBe(1)
      // rand → tiny: −δ·β·ln(rand) is far past the 10 s left, so the draw says "refresh now".
      vi.spyOn(Math, 'random').mockReturnValue(Number.MIN_VALUE)
      expect(await Promise.all([f(1), f(1)])).toEqual(['v1-1', 'v1-1'])
      await settle()
      await settle()
      expect(state.computations).toBe(2)
      vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON)
      expect(await f(1)).toBe('v2-1')
      await cache.close()
    })

    it('the draw is rare far from expiry and certain at it (β = 1, δ = 2 s)', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '1h', earlyRefresh: { beta: 1 } })
      state.delayMs = 2 * SECOND
      const first = f(1)
      await vi.advanceTimersByTimeAsync(2 * SECOND)
      await first
      state.delayMs = 0
      // With 30 min left, −2 s·ln(rand) ≥ 30 min needs rand < e^−900: never with a real draw.
      vi.advanceTimersByTime(30 * 60 * SECOND)
      for (let i = 0; i < 200; i++) await f(1)
      await settle()
      expect(state.computations).toBe(1)
      await cache.close()
    })
  })

  describe(`never die (${name})`, () => {
    it('refreshed in the background at 90% of the ttl while calls keep coming; a failed refresh keeps the old result', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '100s', neverDie: { idle: '1h' } })
      expect(await f(1)).toBe('v1-1')
      state.version = 2
      await vi.advanceTimersByTimeAsync(91 * SECOND)
      expect(state.computations).toBe(2)
      expect(await f(1)).toBe('v2-1')
      // The next refresh fails: the old result keeps answering, past its ttl, and the refresh is retried.
      state.version = 3
      state.fail = new Error('down')
      await vi.advanceTimersByTimeAsync(200 * SECOND)
      expect(state.computations).toBeGreaterThan(2)
      expect(await f(1)).toBe('v2-1')
      state.fail = undefined
      await vi.advanceTimersByTimeAsync(60 * SECOND)
      expect(await f(1)).toBe('v3-1')
      await cache.close()
    })

    it('refreshes stop once nobody has made the call for the idle time, and at close()', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      const f = cache.wrap('F', fn, { ttl: '100s', neverDie: { idle: '5m' } })
      await f(1)
      await vi.advanceTimersByTimeAsync(20 * 60 * SECOND)
      const whileIdle = state.computations
      expect(whileIdle).toBeLessThanOrEqual(5) // refreshed for five minutes, then stopped
      await vi.advanceTimersByTimeAsync(60 * 60 * SECOND)
      expect(state.computations).toBe(whileIdle)
      await f(2)
      await cache.close()
      const atClose = state.computations
      await vi.advanceTimersByTimeAsync(60 * 60 * SECOND)
      expect(state.computations).toBe(atClose)
    })
  })

  describe(`cacheIf (${name})`, () => {
    it('a result it refuses is returned but not stored; a throwing predicate is reported and stores nothing', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const errors: CacheEvents['error'][] = []
      cache.on('error', (event) => errors.push(event))
      let computations = 0
      const f = cache.wrap(
        'F',
        async (n: number) => {
          computations++
          return n < 0 ? null : n
        },
        {
          cacheIf: (value: unknown, n: number) => {
            if (n === 99) throw new Error('predicate bug')
            return value !== null
          },
        },
      )
      expect(await f(-1)).toBe(null)
      expect(await f(-1)).toBe(null)
      expect(computations).toBe(2)
      expect(await f(1)).toBe(1)
      expect(await f(1)).toBe(1)
      expect(computations).toBe(3)
      expect(await f(99)).toBe(99)
      expect(await f(99)).toBe(99)
      expect(computations).toBe(5)
      expect(errors.map((event) => event.operation)).toEqual(['cacheIf', 'cacheIf'])
      await cache.close()
    })
  })

  describe(`stampede (${name})`, () => {
    it('1 000 concurrent calls on a cold key compute once', async () => {
      const cache = createCache({ domainKey: 'D', backend: backend() })
      const { state, fn } = source()
      state.delayMs = 50
      const f = cache.wrap('F', fn, { ttl: '1m' })
      const answers = Promise.all(Array.from({ length: 1000 }, () => f(7)))
      await vi.advanceTimersByTimeAsync(100)
      expect(new Set(await answers)).toEqual(new Set(['v1-7']))
      expect(state.computations).toBe(1)
      await cache.close()
    })
  })
}
