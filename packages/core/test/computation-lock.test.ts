import { describe, expect, it } from 'vitest'
import { type Backend, createCache, InvalidOptionError } from '../src/index.js'
import { GuardedStoreBackend, SharedStoreBackend, SyncMapBackend } from './support/backends.js'

type Store = Map<string, { value: Uint8Array; expiresAt: number }>
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Two caches standing for two processes: separate core state, one store. */
function twoProcesses(store: Store = new Map()) {
  return [0, 1].map(() => createCache({ domainKey: 'LOCK', backend: new SharedStoreBackend(store) }))
}

describe('wrap({ lock }): cross-process single-flight', () => {
  it('of every process missing a cold key at once, exactly one computes', async () => {
    let computed = 0
    const slow = async (n: number) => {
      computed++
      await sleep(60)
      return n * 10
    }
    const fns = twoProcesses().map((cache) => cache.wrap('SLOW', slow, { lock: true }))
    const results = await Promise.all(fns.flatMap((f) => [f(4), f(4), f(4)]))
    expect(results).toEqual([40, 40, 40, 40, 40, 40])
    expect(computed).toBe(1)
    // Without the lock, each process computes once (single-flight within a process only).
    computed = 0
    const unlocked = twoProcesses().map((cache) => cache.wrap('SLOW', slow))
    await Promise.all(unlocked.map((f) => f(4)))
    expect(computed).toBe(2)
  })

  it('releases the lock after computing, and a failed computation lets the next caller compute', async () => {
    const store: Store = new Map()
    const [a, b] = twoProcesses(store)
    let fail = true
    const fa = a!.wrap(
      'F',
      async (n: number) => {
        if (fail) throw new Error('boom')
        return n
      },
      { lock: true },
    )
    await expect(fa(1)).rejects.toThrow('boom')
    expect([...store.keys()].filter((k) => k.includes(':c:'))).toEqual([])
    fail = false
    const fb = b!.wrap('F', async (n: number) => n + 100, { lock: true })
    // Nobody holds the lock: b computes at once instead of waiting.
    const started = Date.now()
    expect(await fb(1)).toBe(101)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('a waiter computes itself once the holder’s lock expires or its wait is over', async () => {
    const store: Store = new Map()
    const [a, b] = twoProcesses(store)
    let calls = 0
    const never = a!.wrap(
      'HANG',
      (_n: number) => {
        calls++
        return new Promise<number>(() => {})
      },
      { lock: { ttl: '5s' } },
    )
    void never(1)
    await sleep(20)
    const waiter = b!.wrap('HANG', async (n: number) => n + 1, { lock: { ttl: '5s', wait: '80ms' } })
    const started = Date.now()
    expect(await waiter(1)).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(70)
    expect(calls).toBe(1)
  })

  it('an invalidation while waiting is honoured: the waiter does not take the older result', async () => {
    const store: Store = new Map()
    const [a, b] = twoProcesses(store)
    let version = 1
    const load = async () => {
      const seen = version
      await sleep(50)
      return seen
    }
    const fa = a!.wrap('V', load, { lock: true })
    const fb = b!.wrap('V', load, { lock: true })
    const first = fa()
    await sleep(10)
    const waiting = fb()
    version = 2
    await b!.invalidateFunc('V')
    expect(await first).toBe(1)
    // b's caller started before the invalidation, so 1 would be allowed for it; what matters is that
    // the next call after the invalidation is never served 1.
    await waiting
    expect(await fb()).toBe(2)
  })

  it('is ignored on an unshared backend and refused on a shared one that cannot lock (no setNx)', () => {
    const memory = createCache({ domainKey: 'L', backend: SyncMapBackend })
    const f = memory.wrap('F', (n: number) => n, { lock: true })
    expect(f(3)).toBe(3)
    const syncShared = new SyncMapBackend()
    Object.defineProperty(syncShared, 'capabilities', {
      value: { sync: true, persistent: true, shared: true, inProcessValues: false },
    })
    const shared = createCache({ domainKey: 'L', backend: syncShared as unknown as Backend })
    expect(() => shared.wrap('F', (n: number) => n, { lock: true })).toThrow(InvalidOptionError)
  })
})

describe('wrap({ lock }): a result generation created while the holder waited for its lock', () => {
  it('the holder computes on it, so the next holder finds the result instead of computing again', async () => {
    const store: Store = new Map()
    /** Holds back the next `setNx` of an instance until `release` is called. */
    const gate = () => {
      let release!: () => void
      const opened = new Promise<void>((resolve) => {
        release = resolve
      })
      return { armed: false, reached: false, opened, release }
    }
    const gateB = gate()
    const gateA = gate()
    let setNxOfA = 0
    // B writes a new argument's generation with its result (setGuarded); A, an instance without it,
    // creates the generation first (as an older release or another backend of the same store would).
    class GatedB extends GuardedStoreBackend {
      override async setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
        if (gateB.armed) {
          gateB.armed = false
          gateB.reached = true
          await gateB.opened
        }
        return super.setNx(key, value, ttlMs)
      }
    }
    class GatedA extends SharedStoreBackend {
      override async setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
        // The first is the result generation A creates; the second, its lock.
        if (++setNxOfA === 2) {
          gateA.reached = true
          await gateA.opened
        }
        return super.setNx(key, value, ttlMs)
      }
    }
    let computed = 0
    const compute = async (n: number) => {
      computed++
      await sleep(30)
      return n * 10
    }
    const fB = createCache({ domainKey: 'RESTAMP', backend: new GatedB(store) }).wrap('F', compute, {
      lock: true,
    })
    const fA = createCache({ domainKey: 'RESTAMP', backend: new GatedA(store) }).wrap('F', compute, {
      lock: true,
    })
    await fB(0) // the domain and function generations exist
    computed = 0
    gateB.armed = true
    const b = fB(1) // reads: no result generation yet, picks its own token; waits before taking the lock
    await until(() => gateB.reached)
    const a = fA(1) // creates the result generation with another token, then waits before its lock
    await until(() => gateA.reached)
    gateB.release() // B takes the lock and computes
    await sleep(5)
    gateA.release() // A finds the lock taken, waits, then takes it
    expect(await Promise.all([b, a])).toEqual([10, 10])
    expect(computed).toBe(1)
  })
})

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(2)
  expect(done()).toBe(true)
}
