import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type CacheEvents, createCache, InvalidOptionError } from '../src/index.js'
import { CountingStoreBackend, SharedStoreBackend, SyncMapBackend } from './support/backends.js'

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
// biome-ignore lint: test internals
const engineOf = (cache: unknown, key: string): any => (cache as any).functions.get(key)

class Outage extends Error {}

describe('regression (review R1), was: fail-safe: a caller that joins a background refresh gets its error, not the last good result', () => {
  it('local', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    const version = 1
    let fail: Error | undefined
    let delayMs = 0
    let computations = 0
    const f = cache.wrap(
      'F',
      async (n: number) => {
        computations++
        const v = version
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs))
        if (fail) throw fail
        return `v${v}-${n}`
      },
      { ttl: '1m', staleWhileRevalidate: '1m', failSafe: '1h' },
    )
    expect(await f(1)).toBe('v1-1')
    vi.advanceTimersByTime(119 * SECOND) // stale window
    fail = new Outage('down')
    delayMs = 30 * SECOND
    expect(await f(1)).toBe('v1-1') // stale answer, refresh scheduled
    await settle() // refresh starts (slow, will fail)
    expect(computations).toBe(2)
    await vi.advanceTimersByTimeAsync(6 * SECOND) // now 125 s: past the stale window, inside fail-safe grace
    const answer = f(1) // verdict 'fallback': joins the running refresh
    const outcome = answer.then(
      (v) => ({ v }),
      (e: Error) => ({ e: e.message }),
    )
    await vi.advanceTimersByTimeAsync(30 * SECOND)
    expect(await outcome).toEqual({ v: 'v1-1' }) // fail-safe promises the last good result
    await cache.close()
  })
})

describe('regression (review R2), was: cacheIf: a refused result leaves the old one answering', () => {
  it('local: refresh() returns the new value, the next call is still served the old one as fresh', () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    let user: string | null = 'alice'
    const f = cache.wrap('F', (_id: number) => user, { ttl: '1h', cacheIf: (v) => v !== null })
    expect(f(1)).toBe('alice')
    user = null // deleted at the source
    expect(f.refresh(1)).toBe(null)
    expect(f(1)).toBe(null)
  })

  it('staleWhileRevalidate: a refused refresh keeps the old result answering, and every call recomputes', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    let user: string | null = 'alice'
    let computations = 0
    const f = cache.wrap(
      'F',
      async (_id: number) => {
        computations++
        return user
      },
      { ttl: '1m', staleWhileRevalidate: '10m', cacheIf: (v) => v !== null },
    )
    expect(await f(1)).toBe('alice')
    user = null
    vi.advanceTimersByTime(61 * SECOND)
    const answers: unknown[] = []
    for (let i = 0; i < 5; i++) {
      answers.push(await f(1))
      await settle()
    }
    // The refused refresh drops the old result: the source's "null" answers from then on (never cached).
    expect({ answers, computations }).toEqual({ answers: ['alice', null, null, null, null], computations: 6 })
    await cache.close()
  })
})

describe('regression (review R3), was: never-die: KeepAlive remembers every call key that never stores, forever', () => {
  it('local: failing calls / refused results', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    const f = cache.wrap(
      'F',
      async (n: number) => {
        if (n % 2) throw new Error('nope')
        return n
      },
      { ttl: '1s', neverDie: { idle: '2s' }, cacheIf: () => false },
    )
    for (let i = 0; i < 2000; i++) await f(i).catch(() => undefined)
    await vi.advanceTimersByTimeAsync(60 * 60 * SECOND)
    expect(engineOf(cache, 'F').keepAlive.size).toBe(0)
    await cache.close()
  })

  it('shared: a process that only hits results another process stored', async () => {
    const data = new Map()
    const a = createCache({ domainKey: 'D', backend: new SharedStoreBackend(data) })
    const b = createCache({ domainKey: 'D', backend: new SharedStoreBackend(data) })
    const fn = async (n: number) => n
    const fa = a.wrap('F', fn, { ttl: '1h', neverDie: { idle: '1m' } })
    const fb = b.wrap('F', fn, { ttl: '1h', neverDie: { idle: '1m' } })
    for (let i = 0; i < 500; i++) await fa(i)
    for (let i = 0; i < 500; i++) await fb(i)
    await vi.advanceTimersByTimeAsync(10 * 60 * SECOND) // long past idle
    expect(engineOf(b, 'F').keepAlive.size).toBe(0)
    await a.close()
    await b.close()
  })
})

describe('regression (review R4), was: cacheIf on a generator function: documented "not for", silently accepted', () => {
  it('is refused at wrap', () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    const seen: unknown[] = []
    const g = function* (n: number) {
      yield n
    }
    let threw = false
    try {
      const f = cache.wrap('G', g, { cacheIf: (v) => (seen.push(v), true) })
      ;[...f(1)]
    } catch (e) {
      threw = e instanceof InvalidOptionError
    }
    expect({ threw, seen }).toEqual({ threw: true, seen: [] })
  })
})

describe('regression (review R5), was: shared: the result generation outlives nothing: never-die/SWR callers periodically wait', () => {
  it('never-die, calls every 10 s for 20 min: no caller waits for a computation', async () => {
    const cache = createCache({ domainKey: 'D', backend: new CountingStoreBackend(new Map()) })
    const misses: string[] = []
    cache.on('miss', (e) => misses.push(e.key))
    const f = cache.wrap(
      'F',
      async (n: number) => {
        await new Promise((r) => setTimeout(r, 5 * SECOND))
        return `${n}@${Date.now()}`
      },
      { ttl: '100s', neverDie: { idle: '100s' } },
    )
    const first = f(1)
    await vi.advanceTimersByTimeAsync(5 * SECOND)
    await first
    const waited: number[] = []
    for (let t = 0; t < 120; t++) {
      await vi.advanceTimersByTimeAsync(10 * SECOND)
      let done = false
      const p = f(1).then(() => {
        done = true
      })
      await vi.advanceTimersByTimeAsync(1)
      if (!done) waited.push(Date.now())
      await vi.advanceTimersByTimeAsync(6 * SECOND)
      await p
    }
    expect(waited).toEqual([])
    await cache.close()
  })
})

describe('regression (review R6), was: never-die serves a result up to ttl + idle old to a process that keeps nothing alive', () => {
  it('shared: a restarted process gets a 15-minute-old result of a 100 s ttl, at once', async () => {
    const data = new Map()
    const a = createCache({ domainKey: 'D', backend: new SharedStoreBackend(data) })
    const fn = async () => `computed at ${Date.now()}`
    const fa = a.wrap('F', fn, { ttl: '100s', neverDie: true })
    const old = await fa()
    await a.close() // process exits
    vi.advanceTimersByTime(15 * 60 * SECOND)
    const b = createCache({ domainKey: 'D', backend: new SharedStoreBackend(data) })
    const stale: CacheEvents['stale'][] = []
    b.on('stale', (e) => stale.push(e))
    const fb = b.wrap('F', fn, { ttl: '100s', neverDie: true })
    expect(await fb()).not.toBe(old)
    await b.close()
  })
})

describe('regression (review R7), was: onError raise + failSafe: a computed value whose store failed is replaced by the old one', () => {
  it('local', async () => {
    const backend = new SyncMapBackend()
    const cache = createCache({ domainKey: 'D', backend, onError: 'raise' })
    let version = 1
    const f = cache.wrap('F', async (n: number) => `v${version}-${n}`, { ttl: '1m', failSafe: '1h' })
    expect(await f(1)).toBe('v1-1')
    vi.advanceTimersByTime(2 * 60 * SECOND)
    version = 2
    backend.set = () => {
      throw new Error('disk full')
    }
    const got = await f(1).then(
      (v) => v,
      (e: Error) => `error: ${e.message}`,
    )
    expect(got).not.toBe('v1-1')
  })
})

describe('regression (review R8), was: softTimeout with staleWhileRevalidate only could never act', () => {
  it('is refused at wrap, saying to add failSafe', () => {
    const cache = createCache({ domainKey: 'D', backend: new SyncMapBackend() })
    expect(() =>
      cache.wrap('F', async (n: number) => n, {
        ttl: '1m',
        staleWhileRevalidate: '1m',
        softTimeout: '200ms',
      }),
    ).toThrow(/add failSafe/)
  })
})
