import { describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'
import { GuardedStoreBackend } from './support/backends.js'

type Store = Map<string, { value: Uint8Array; expiresAt: number }>
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a new argument on a backend with setGuarded', () => {
  it('costs one write: the result generation goes with the result', async () => {
    const backend = new GuardedStoreBackend(new Map())
    const cache = createCache({ domainKey: 'G', backend, defaultTtl: 60 })
    const f = cache.wrap('F', async (n: number) => n * 2)
    await f(0) // creates the function and domain generations
    backend.writes.length = 0
    expect(await f(1)).toBe(2)
    expect(backend.writes).toEqual(['setGuarded'])
    backend.writes.length = 0
    expect(await f(1)).toBe(2)
    expect(backend.writes).toEqual([])
    // The generation now exists: an invalidation of the result still works.
    await f.invalidate(1)
    let calls = 0
    const g = cache.wrap('G', async (n: number) => {
      calls++
      return n
    })
    await g(0)
    await g(5)
    await g(5)
    expect(calls).toBe(2)
    await g.invalidate(5)
    await g(5)
    expect(calls).toBe(3)
  })

  it('concurrent callers in one process share the pending generation and one computation', async () => {
    const backend = new GuardedStoreBackend(new Map())
    const cache = createCache({ domainKey: 'G', backend })
    let calls = 0
    const slow = cache.wrap('SLOW', async (n: number) => {
      calls++
      await sleep(30)
      return n
    })
    await slow(0)
    const results = await Promise.all(Array.from({ length: 10 }, () => slow(7)))
    expect(results).toEqual(Array(10).fill(7))
    expect(calls).toBe(2)
    expect(await slow(7)).toBe(7)
    expect(calls).toBe(2)
  })

  it('a computation that fails leaves no pending generation behind', async () => {
    const backend = new GuardedStoreBackend(new Map())
    const cache = createCache({ domainKey: 'G', backend })
    let fail = true
    const f = cache.wrap('F', async (n: number) => {
      if (fail) throw new Error('boom')
      return n
    })
    const sync = cache.wrap('S', (n: number) => {
      if (fail) throw new Error('sync boom')
      return n
    })
    fail = false
    await f(0)
    await sync(0)
    fail = true
    await expect(f(1)).rejects.toThrow('boom')
    await expect(Promise.resolve().then(() => sync(1))).rejects.toThrow('sync boom')
    const state = (cache as unknown as { ctx: { state: { provisionalGenerations: Map<string, string> } } })
      .ctx.state
    expect(state.provisionalGenerations.size).toBe(0)
    fail = false
    expect(await f(1)).toBe(1)
    expect(state.provisionalGenerations.size).toBe(0)
  })

  it('two processes racing on a new argument: whatever wins, nobody is served a result the generation does not vouch for', async () => {
    const store: Store = new Map()
    const [a, b] = [0, 1].map(() =>
      createCache({ domainKey: 'RACE', backend: new GuardedStoreBackend(store) }),
    )
    let version = 1
    const fa = a!.wrap('F', async (n: number) => {
      const seen = version
      await sleep(20)
      return `${n}v${seen}`
    })
    const fb = b!.wrap('F', async (n: number) => `${n}v${version}`)
    await fb(0)
    const late = fa(1)
    await sleep(5)
    version = 2
    await b!.invalidateResult('F', 1)
    expect(await late).toBe('1v1')
    expect(await fb(1)).toBe('1v2')
    expect(await fa(1)).toBe('1v2')
  })
})
