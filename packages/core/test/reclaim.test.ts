import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { reclaimTiming } from '../src/coordination/reclaim-dead-results.js'
import { createCache } from '../src/index.js'
import { GuardedStoreBackend, SharedStoreBackend } from './support/backends.js'

type Store = Map<string, { value: Uint8Array; expiresAt: number }>
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A shared store that can list keys (as Redis does with SCAN) but has no reclaimPrefix. */
class ListingStore extends GuardedStoreBackend {
  keys(prefix: string): string[] {
    return [...this.data.keys()].filter((key) => key.startsWith(prefix))
  }
}

/** Waits until `done()` holds (the reclamation runs in the background), at most `ms`. */
async function eventually(done: () => boolean, ms = 2000): Promise<void> {
  // performance.now, not Date.now: a test mocks the latter to age markers.
  const until = performance.now() + ms
  while (!done() && performance.now() < until) await sleep(10)
}

const text = (value: Uint8Array) => Buffer.from(value).toString('utf8')

describe('space that a function or domain invalidation made dead is reclaimed', () => {
  // Generations are looked at a minute after the invalidation; here at once.
  const delay = reclaimTiming.generationDelayMs
  beforeAll(() => {
    reclaimTiming.generationDelayMs = 0
  })
  afterAll(() => {
    reclaimTiming.generationDelayMs = delay
  })

  it('on an asynchronous store that only this process uses, dead results go too (nothing would free them)', async () => {
    const store: Store = new Map()
    const backend = new ListingStore(store)
    ;(backend as { capabilities: unknown }).capabilities = { ...backend.capabilities, shared: false }
    const cache = createCache({ domainKey: 'RC-ALONE', backend })
    const f = cache.wrap('F', async (n: number) => n)
    for (let n = 0; n < 20; n++) await f(n)
    const results = () => [...store.keys()].filter((key) => key.includes('r:{F:')).length
    expect(results()).toBe(20)
    await f.invalidateAll()
    await eventually(() => results() === 0)
    expect(results()).toBe(0)
    await cache.close()
  })

  it('a burst of invalidations of one function runs one reclamation at a time, not one listing each', async () => {
    const store: Store = new Map()
    const backend = new ListingStore(store)
    let listings = 0
    let inFlight = 0
    let most = 0
    const list = backend.keys.bind(backend)
    ;(backend as { keys: unknown }).keys = async (prefix: string) => {
      listings++
      most = Math.max(most, ++inFlight)
      await sleep(20)
      inFlight--
      return list(prefix)
    }
    const cache = createCache({ domainKey: 'RC-BURST', backend })
    const f = cache.wrap('F', async (n: number) => n)
    for (let n = 0; n < 10; n++) await f(n)
    for (let i = 0; i < 10; i++) await f.invalidateAll()
    const results = () => [...store.keys()].filter((key) => key.includes('r:{F:')).length
    await eventually(() => results() === 0 && inFlight === 0)
    expect(results()).toBe(0)
    expect(most).toBe(1)
    // The first run, and one more for the invalidations that came while it ran (results and generations).
    expect(listings).toBeLessThanOrEqual(4)
    await cache.close()
  })

  it('a failed pass does not drop the passes invalidations asked for meanwhile', async () => {
    const store: Store = new Map()
    const backend = new ListingStore(store)
    let listings = 0
    const list = backend.keys.bind(backend)
    ;(backend as { keys: unknown }).keys = async (prefix: string) => {
      if (listings++ === 0) {
        await sleep(50)
        throw new Error('listing failed')
      }
      return list(prefix)
    }
    const cache = createCache({ domainKey: 'RC-FAIL', backend })
    cache.on('error', () => undefined)
    const f = cache.wrap('F', async (n: number) => n)
    await f(1)
    await f.invalidateAll()
    await f(1)
    await f.invalidateAll() // coalesced into the failing pass
    const results = () => [...store.keys()].filter((key) => key.includes('r:{F:')).length
    await eventually(() => results() === 0)
    expect(results()).toBe(0)
    await cache.close()
  })

  it('dead results and created generations go; live results and invalidation markers stay', async () => {
    const store: Store = new Map()
    const backend = new ListingStore(store)
    const cache = createCache({ domainKey: 'RC', backend }) // no TTL: nothing would ever expire
    let calls = 0
    const f = cache.wrap('F', async (n: number) => {
      calls++
      return n
    })
    const other = cache.wrap('OTHER', async (n: number) => n)
    for (let n = 0; n < 450; n++) await f(n)
    await other(1)
    await f.invalidate(7) // a marker, which must survive
    const count = (part: string) => [...store.keys()].filter((key) => key.includes(part)).length
    expect(count('r:{F:')).toBe(449)
    expect(count('g:{F:')).toBe(450)

    await f.invalidateAll()
    await f(1) // a result written after the invalidation is live
    await eventually(() => count('r:{F:') === 1)
    expect(count('r:{F:')).toBe(1)
    const computations = calls
    expect(await f(1)).toBe(1)
    expect(calls).toBe(computations) // the live result kept its generation: still a hit
    await eventually(() => count('g:{F:') === 2)
    const generations = [...store.entries()].filter(([key]) => key.includes('g:{F:'))
    // The marker of argument 7 and the generation of the live result remain; 448 others went.
    expect(generations).toHaveLength(2)
    expect(generations.filter(([, entry]) => text(entry.value).startsWith('!'))).toHaveLength(1)
    // Another function's results are untouched.
    expect(count('r:{OTHER:')).toBe(1)
    await cache.close()
  })

  it('after a domain invalidation every dead result goes, and close() stops the work', async () => {
    const store: Store = new Map()
    const cache = createCache({ domainKey: 'RD', backend: new ListingStore(store) })
    const f = cache.wrap('F', async (n: number) => n)
    const g = cache.wrap('G', async (n: number) => -n)
    for (let n = 0; n < 30; n++) {
      await f(n)
      await g(n)
    }
    await cache.invalidateDomain()
    const results = () => [...store.keys()].filter((key) => key.includes(':r:')).length
    await eventually(() => results() === 0)
    expect(results()).toBe(0)
    await cache.close()
  })

  it('a store without listing keeps working (the dead results wait for their TTL)', async () => {
    const store: Store = new Map()
    const cache = createCache({ domainKey: 'RN', backend: new SharedStoreBackend(store) })
    const f = cache.wrap('F', async (n: number) => n)
    await f(1)
    await f.invalidateAll()
    expect(await f(1)).toBe(1)
    await cache.close()
  })

  it('a result stored on a generation removed meanwhile puts it back, and stays a hit', async () => {
    const store: Store = new Map()
    const backend = new ListingStore(store)
    const cache = createCache({ domainKey: 'RB', backend })
    let calls = 0
    let removeGeneration = false
    const f = cache.wrap('F', async (n: number) => {
      calls++
      if (removeGeneration) {
        // What the reclamation of an earlier invalidation does while this computation runs.
        for (const key of [...store.keys()]) if (key.includes('g:{F:')) store.delete(key)
      }
      return n
    })
    await f(1)
    await f.invalidateAll()
    removeGeneration = true
    expect(await f(1)).toBe(1)
    removeGeneration = false
    expect(await f(1)).toBe(1)
    expect(calls).toBe(2)
    await cache.close()
  })

  it('generations wait a while after the invalidation, and close() does not wait for them', async () => {
    reclaimTiming.generationDelayMs = 60_000
    try {
      const store: Store = new Map()
      const cache = createCache({ domainKey: 'RW', backend: new ListingStore(store) })
      const f = cache.wrap('F', async (n: number) => n)
      for (let n = 0; n < 5; n++) await f(n)
      await f.invalidateAll()
      await eventually(() => [...store.keys()].filter((key) => key.includes('r:{F:')).length === 0)
      expect([...store.keys()].filter((key) => key.includes('g:{F:'))).toHaveLength(5)
      const started = Date.now()
      await cache.close()
      expect(Date.now() - started).toBeLessThan(1000)
    } finally {
      reclaimTiming.generationDelayMs = 0
    }
  })

  it('markers older than the sweep age go too (functions without TTL keep theirs forever otherwise)', async () => {
    const store: Store = new Map()
    const cache = createCache({ domainKey: 'RM', backend: new ListingStore(store) })
    const f = cache.wrap('F', async (n: number) => n)
    for (let n = 0; n < 20; n++) {
      await f(n)
      await f.invalidate(n)
    }
    const markers = () =>
      [...store.entries()].filter(([key, e]) => key.includes('g:{F:') && text(e.value).startsWith('!'))
    expect(markers()).toHaveLength(20)
    // Three hours later (by the clock the markers carry), a function invalidation sweeps them.
    const later = Date.now() + 3 * 60 * 60 * 1000
    vi.spyOn(Date, 'now').mockImplementation(() => later)
    try {
      await f.invalidateAll()
      await eventually(() => markers().length === 0)
      expect(markers()).toHaveLength(0)
    } finally {
      vi.restoreAllMocks()
    }
    await cache.close()
  })
})
