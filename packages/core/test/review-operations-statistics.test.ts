import { afterEach, describe, expect, it, vi } from 'vitest'
import { type CacheEvents, createCache } from '../src/index.js'
import { FullMapBackend, SharedStoreBackend } from './support/backends.js'

// Review of cache.stats(): "every call counts once as a hit or a miss" on the paths the first tests do not
// walk (cross-process lock waits, background refreshes whose read fails, shared reads that fail, a
// function first named by an invalidation), and the attribution of errors to functions.

afterEach(() => {
  vi.useRealTimers()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A synchronous shared store whose batch reads fail while `failing` is set (a dead SQLite file, say). */
class FlakyReadsBackend extends FullMapBackend {
  failing = false
  constructor() {
    super(true)
  }
  override getMany(keys: readonly string[]): unknown[] {
    if (this.failing) throw new Error('read failed')
    return super.getMany(keys)
  }
}

describe('statistics: every call counts exactly once', () => {
  it('a call that waits on another process’s lock and then finds its result is one miss, not a miss and a hit', async () => {
    const store = new Map<string, { value: Uint8Array; expiresAt: number }>()
    const [a, b] = [0, 1].map(() =>
      createCache({ domainKey: 'LOCKSTATS', backend: new SharedStoreBackend(store) }),
    )
    let computed = 0
    const slow = async (n: number) => {
      computed++
      await sleep(60)
      return n * 10
    }
    const fa = a!.wrap('SLOW', slow, { lock: true })
    const fb = b!.wrap('SLOW', slow, { lock: true })
    const first = fa(4)
    await sleep(10) // a holds the lock
    const second = fb(4) // b waits, then finds a's result
    expect(await Promise.all([first, second])).toEqual([40, 40])
    expect(computed).toBe(1)
    const stats = b!.stats().functions.SLOW!
    // One call on b: it counts once.
    expect(stats.hits + stats.misses).toBe(1)
    expect(stats).toMatchObject({ misses: 1, hits: 0, computations: 0 })
    await Promise.all([a!.close(), b!.close()])
  })

  it('a background refresh whose read fails is not a caller’s miss', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const backend = new FlakyReadsBackend()
    const cache = createCache({ domainKey: 'BGSTATS', backend })
    let version = 0
    const read = cache.wrap('READ', () => ++version, { ttl: 1, staleWhileRevalidate: 10 })
    expect(read()).toBe(1) // miss
    await vi.advanceTimersByTimeAsync(1500)
    expect(read()).toBe(1) // stale hit; its refresh is scheduled
    backend.failing = true // the refresh's read fails
    await vi.advanceTimersByTimeAsync(1)
    const stats = cache.stats().functions.READ!
    // Two calls: one miss, one (stale) hit. The background refresh is nobody's call.
    expect(stats.hits + stats.misses).toBe(2)
    expect(stats).toMatchObject({ hits: 1, misses: 1 })
    await cache.close()
  })

  it('refresh() counts no miss whether or not its supersede write succeeds', async () => {
    const backend = new FlakyReadsBackend()
    const cache = createCache({ domainKey: 'REFRESHSTATS', backend })
    const id = cache.wrap('ID', (n: number) => n)
    id.refresh(1)
    expect(cache.stats().functions.ID!.misses).toBe(0)
    backend.failing = true
    id.refresh(2) // its read of the generations fails: it computes without storing
    expect(cache.stats().functions.ID!.misses).toBe(0)
    await cache.close()
  })
})

describe('statistics: errors are attributed to the function whose call failed', () => {
  it('a failed read on a shared store (one getMany) counts on the function, not only by operation', async () => {
    const backend = new FlakyReadsBackend()
    const cache = createCache({ domainKey: 'ERRSTATS', backend })
    const errors: CacheEvents['error'][] = []
    cache.on('error', (event) => errors.push(event))
    const id = cache.wrap('ID', (n: number) => n)
    backend.failing = true
    expect(id(1)).toBe(1) // silent: computed without the cache
    expect(cache.stats().errorsByOperation).toEqual({ getMany: 1 })
    expect(cache.stats().functions.ID!.errors).toBe(1)
    await cache.close()
  })

  it('a function named by an invalidation before it is wrapped with a version keeps the right attribution', async () => {
    const backend = new FullMapBackend(true)
    const cache = createCache({ domainKey: 'ERRSTATS', backend })
    cache.invalidateFunc('ID') // at start-up, before the wrap
    const id = cache.wrap('ID', (n: number) => n, { version: 2 })
    id(1)
    // Damage the stored result: the next call reports a decode error on ID's key.
    for (const [key, entry] of backend.data) {
      if (!key.includes('r:{ID')) continue
      const bytes = entry.value as Uint8Array
      bytes[6] = bytes[6]! ^ 0xff
    }
    expect(id(1)).toBe(1)
    expect(cache.stats().errorsByOperation).toEqual({ decode: 1 })
    expect(cache.stats().functions.ID!.errors).toBe(1)
    await cache.close()
  })

  it('a function key that is only invalidated, never wrapped, is not listed as a function', async () => {
    const cache = createCache({ domainKey: 'PHANTOM', backend: new FullMapBackend(false) })
    cache.wrap('REAL', (n: number) => n)
    cache.invalidateFunc('TYPO')
    cache.flushExpired('OTHER')
    expect(Object.keys(cache.stats().functions)).toEqual(['REAL'])
    await cache.close()
  })
})

describe('statistics: what the other paths count', () => {
  it('a call refused by its rate limit (onLimit answers) still counts as a call', async () => {
    const cache = createCache({ domainKey: 'RATESTATS', backend: new FullMapBackend(false) })
    const id = cache.wrap('ID', (n: number) => n, {
      rateLimit: { limit: 1, period: '1h', onLimit: () => -1 },
    })
    expect(id(1)).toBe(1) // miss
    expect(id(1)).toBe(-1) // over the limit: answered by onLimit
    const stats = cache.stats().functions.ID!
    expect(stats.hits + stats.misses + stats.rateLimited).toBe(2)
    expect(stats.rateLimited).toBe(1)
    await cache.close()
  })

  it('a background refresh whose function throws is a failure, not also a cache-side error', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'BGFAIL', backend: new FullMapBackend(true) })
    let fail = false
    const read = cache.wrap(
      'READ',
      () => {
        if (fail) throw new Error('down')
        return 'v'
      },
      { ttl: 1, staleWhileRevalidate: 10 },
    )
    read()
    await vi.advanceTimersByTimeAsync(1500)
    fail = true
    expect(read()).toBe('v') // stale; its refresh fails
    await vi.advanceTimersByTimeAsync(1)
    const stats = cache.stats()
    expect(stats.errorsByOperation).toEqual({ 'refresh:stale': 1 })
    expect(stats.functions.READ).toMatchObject({ failures: 1, errors: 0 })
    await cache.close()
  })
})
