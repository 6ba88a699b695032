import { afterEach, describe, expect, it, vi } from 'vitest'
import { PROVISIONAL_STORE_WINDOW_MS } from '../src/coordination/invalidation-markers.js'
import { createCache } from '../src/index.js'
import { GuardedStoreBackend } from './support/backends.js'

type Store = Map<string, { value: Uint8Array; expiresAt: number }>
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

afterEach(() => vi.restoreAllMocks())

describe('an invalidation is never undone by a slow computation (shared coordination)', () => {
  it('a computation outliving the TTL many times over does not bring back its value after an invalidation from another process', async () => {
    const store: Store = new Map()
    const a = createCache({ domainKey: 'M', backend: new GuardedStoreBackend(store), defaultTtl: '100ms' })
    const b = createCache({ domainKey: 'M', backend: new GuardedStoreBackend(store), defaultTtl: '100ms' })
    let source = 'old'
    const slowA = a.wrap('F', async (n: number) => {
      const seen = source
      await sleep(900) // nine times the TTL
      return `${seen}-${n}`
    })
    const fastB = b.wrap('F', async (n: number) => `${source}-${n}`)
    await slowA(0) // the function and domain generations exist; argument 1 is new
    const running = slowA(1)
    await sleep(50)
    source = 'new'
    await b.invalidateResult('F', 1)
    // The invalidation's marker outlives 2 × TTL (what it lived before): the late store must still lose.
    expect(await running).toBe('old-1')
    expect(await fastB(1)).toBe('new-1')
    expect(await slowA(1)).toBe('new-1')
  })

  it('a store on a provisional generation later than the window is discarded, not stored', async () => {
    const store: Store = new Map()
    const backend = new GuardedStoreBackend(store)
    const cache = createCache({ domainKey: 'W', backend })
    const discards: string[] = []
    cache.on('discard', ({ key }) => discards.push(key))
    let calls = 0
    const real = performance.now.bind(performance)
    const f = cache.wrap('F', async (n: number) => {
      calls++
      if (n === 0) return 0
      // The computation "takes" longer than the window: the clock jumps while it runs.
      const jump = real() + PROVISIONAL_STORE_WINDOW_MS + 1000
      vi.spyOn(performance, 'now').mockImplementation(() => jump)
      return n * 10
    })
    await f(0) // creates the function and domain generations: argument 1 is then new
    calls = 0
    backend.writes.length = 0
    expect(await f(1)).toBe(10) // the caller still gets its value
    expect(discards).toHaveLength(1)
    expect(backend.writes).not.toContain('setGuarded')
    vi.restoreAllMocks()
    expect(await f(1)).toBe(10)
    expect(calls).toBe(2) // nothing had been stored
  })

  it('result-level markers live at least an hour, whatever the TTL of the process that writes them', async () => {
    const store: Store = new Map()
    const cache = createCache({ domainKey: 'L', backend: new GuardedStoreBackend(store), defaultTtl: 1 })
    const f = cache.wrap('F', async (n: number) => n)
    await f(1)
    const before = Date.now()
    await f.invalidate(1)
    const markers = [...store.entries()].filter(([key]) => key.includes('g:{F:'))
    expect(markers).toHaveLength(1)
    expect(markers[0]![1].expiresAt - before).toBeGreaterThanOrEqual(60 * 60 * 1000 - 1000)
  })
})
