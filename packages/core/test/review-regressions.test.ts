import { afterEach, describe, expect, it, vi } from 'vitest'
import { PROVISIONAL_STORE_WINDOW_MS } from '../src/coordination/invalidation-markers.js'
import { type BackendEntry, createCache } from '../src/index.js'
import { MAX_SEQUENCE_LENGTH } from '../src/sequences.js'
import {
  AsyncBytesBackend,
  GuardedStoreBackend,
  SharedStoreBackend,
  SyncMapBackend,
} from './support/backends.js'

type Store = Map<string, { value: Uint8Array; expiresAt: number }>
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

afterEach(() => vi.restoreAllMocks())

describe('provisional generations are never reused past the store window', () => {
  it('a call after an expired invalidation marker neither joins nor is served an older computation', async () => {
    const store: Store = new Map()
    const a = createCache({ domainKey: 'PW', backend: new GuardedStoreBackend(store), defaultTtl: '10s' })
    const b = createCache({ domainKey: 'PW', backend: new GuardedStoreBackend(store), defaultTtl: '10s' })
    let source = 'OLD'
    const slow = deferred<void>()
    let computations = 0
    const fn = async (n: number) => {
      const seen = source
      computations++
      if (computations === 2) await slow.promise // the one that starts before the invalidation
      return `${seen}-${n}`
    }
    const fa = a.wrap('F', fn)
    b.wrap('F', fn)
    await fa(0) // function and domain generations exist: argument 1 is new
    const first = fa(1)
    await sleep(5)
    source = 'NEW'
    await b.invalidateResult('F', 1)
    // An hour later: the marker has expired (removed here), and the clock says so.
    for (const key of [...store.keys()]) if (key.includes('g:{F:')) store.delete(key)
    const later = performance.now() + PROVISIONAL_STORE_WINDOW_MS + 60_000
    vi.spyOn(performance, 'now').mockImplementation(() => later)
    expect(await fa(1)).toBe('NEW-1') // computed afresh, not joined to the first computation
    slow.resolve()
    expect(await first).toBe('OLD-1')
    expect(await fa(1)).toBe('NEW-1')
  })
})

describe('invalidation writes go through setMany', () => {
  it('even a single marker, so a store can keep it from eviction like other bookkeeping', async () => {
    class Counting extends SharedStoreBackend {
      readonly batches: string[][] = []
      override setMany(entries: readonly BackendEntry[]): Promise<void> {
        this.batches.push(entries.map((e) => e.key))
        return super.setMany(entries)
      }
    }
    const backend = new Counting(new Map())
    const cache = createCache({ domainKey: 'SM', backend })
    const f = cache.wrap('F', async (n: number) => n)
    await f(1)
    await f.invalidate(1)
    expect(backend.batches).toHaveLength(1)
    expect(backend.batches[0]).toHaveLength(1)
  })
})

describe('keyPrefix braces', () => {
  it('must hold one complete, non-empty tag', () => {
    const backend = new SyncMapBackend()
    for (const keyPrefix of ['{}', 'app{', 'a}b', '}{x}']) {
      expect(() => createCache({ domainKey: 'K', keyPrefix, backend })).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION' }),
      )
    }
    expect(() => createCache({ domainKey: 'K', keyPrefix: '{tenant-1}:', backend })).not.toThrow()
  })
})

describe('refresh() under onError: silent', () => {
  it('computes and returns when the new generation cannot be written', async () => {
    class FailingWrites extends AsyncBytesBackend {
      failWrites = false
      override set(key: string, value: Uint8Array, ttlMs: number | undefined) {
        return this.failWrites ? Promise.reject(new Error('write refused')) : super.set(key, value, ttlMs)
      }
      override setMany(entries: readonly BackendEntry[]) {
        return this.failWrites ? Promise.reject(new Error('write refused')) : super.setMany(entries)
      }
    }
    const backend = new FailingWrites()
    const cache = createCache({ domainKey: 'RS', backend })
    const errors: string[] = []
    cache.on('error', ({ operation }) => errors.push(operation))
    let version = 1
    const f = cache.wrap('F', async (n: number) => `v${version}-${n}`)
    await f(1)
    backend.failWrites = true
    version = 2
    expect(await f.refresh(1)).toBe('v2-1')
    expect(errors).toContain('setMany')
    const raising = createCache({ domainKey: 'RR', backend: new FailingWrites(), onError: 'raise' })
    const g = raising.wrap('G', async (n: number) => n)
    ;(raising.backend as FailingWrites).failWrites = true
    await expect(g.refresh(1)).rejects.toMatchObject({ code: 'E_BACKEND' })
  })
})

describe('a plain function that returns a promise', () => {
  it('rejects instead of throwing once it is known to return promises, on a synchronous backend', async () => {
    const cache = createCache({ domainKey: 'PP', backend: new SyncMapBackend() })
    const getUser = cache.wrap('USER', (id: unknown) => Promise.resolve({ id }))
    await getUser(1)
    let result: unknown
    expect(() => {
      result = getUser(() => 1)
    }).not.toThrow()
    await expect(result).rejects.toMatchObject({ code: 'E_UNKEYABLE_ARGUMENT' })
  })
})

describe('generators: return value and bound', () => {
  it('the return value is replayed too', async () => {
    const cache = createCache({ domainKey: 'GR', backend: new SyncMapBackend() })
    let runs = 0
    const g = cache.wrap('G', function* () {
      runs++
      yield 1
      return 'done'
    })
    for (let i = 0; i < 2; i++) {
      const it = g()
      expect(it.next()).toEqual({ value: 1, done: false })
      expect(it.next()).toEqual({ value: 'done', done: true })
    }
    expect(runs).toBe(1)
  })

  it('an endless generator is stopped with a typed error instead of hanging', () => {
    const cache = createCache({ domainKey: 'GE', backend: new SyncMapBackend() })
    const endless = cache.wrap('ENDLESS', function* () {
      let i = 0
      for (;;) yield i++
    })
    const it = endless()
    expect(() => it.next()).toThrow(expect.objectContaining({ code: 'E_NOT_SUPPORTED' }))
    expect(MAX_SEQUENCE_LENGTH).toBe(1_000_000)
  })
})

describe('close() while reclaiming', () => {
  it('a key listing that stalls is bounded by the timeout', async () => {
    class StalledListing extends GuardedStoreBackend {
      async *keys(_prefix: string): AsyncGenerator<string> {
        await new Promise(() => {})
      }
    }
    const cache = createCache({ domainKey: 'CS', backend: new StalledListing(new Map()), timeout: '100ms' })
    const f = cache.wrap('F', async (n: number) => n)
    await f(1)
    await f.invalidateAll()
    const started = Date.now()
    await cache.close()
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('a computation overtaken by a function invalidation', () => {
  it('does not overwrite the newer valid entry this process has stored since', async () => {
    const store: Store = new Map()
    const a = createCache({ domainKey: 'OV', backend: new GuardedStoreBackend(store) })
    const b = createCache({ domainKey: 'OV', backend: new GuardedStoreBackend(store) })
    const slow = deferred<void>()
    let calls = 0
    let source = 'old'
    const fn = async (n: number) => {
      calls++
      const seen = source
      if (calls === 2) await slow.promise
      return `${seen}-${n}`
    }
    const fa = a.wrap('F', fn)
    b.wrap('F', fn)
    await fa(0)
    const first = fa(1) // computes from the old state, slowly
    await sleep(5)
    source = 'new'
    await b.invalidateFunc('F')
    expect(await fa(1)).toBe('new-1') // stored
    const discards: string[] = []
    a.on('discard', ({ key }) => discards.push(key))
    slow.resolve()
    expect(await first).toBe('old-1')
    expect(discards).toHaveLength(1)
    const before = calls
    expect(await fa(1)).toBe('new-1')
    expect(calls).toBe(before) // still a hit: the late result did not replace it
  })
})

describe('close() on a synchronous shared backend', () => {
  /** A synchronous byte store shared by several instances, as two processes share one SQLite file. */
  class SyncSharedBytes {
    readonly specificationVersion = 1 as const
    readonly name = 'sync-shared-bytes'
    readonly capabilities = { sync: true, persistent: true, shared: true, inProcessValues: false } as const
    readonly writes: string[] = []
    constructor(readonly data: Map<string, Uint8Array>) {}
    get(key: string) {
      return this.data.get(key)
    }
    set(key: string, value: Uint8Array) {
      this.writes.push(key)
      this.data.set(key, value)
    }
    delete(key: string) {
      return this.data.delete(key)
    }
    setMany(entries: readonly BackendEntry[]) {
      for (const e of entries) this.set(e.key, e.value)
    }
    setNx(key: string, value: Uint8Array) {
      if (this.data.has(key)) return false
      this.set(key, value)
      return true
    }
    deleteIfEquals(key: string, value: Uint8Array) {
      const held = this.data.get(key)
      if (held === undefined || Buffer.compare(held, value) !== 0) return false
      return this.data.delete(key)
    }
  }

  it('waits for a computation a newer one replaced in the registry', async () => {
    const data = new Map<string, Uint8Array>()
    const backendA = new SyncSharedBytes(data)
    const a = createCache({ domainKey: 'CL', backend: backendA })
    const b = createCache({ domainKey: 'CL', backend: new SyncSharedBytes(data) })
    const slow = deferred<void>()
    let calls = 0
    const fn = async (n: number) => {
      calls++
      if (calls === 2) await slow.promise
      return n
    }
    const fa = a.wrap('F', fn)
    b.wrap('F', fn)
    await fa(0)
    const first = fa(1)
    b.invalidateFunc('F')
    await fa(1) // another stamp: a second computation of the same key
    let closed = false
    const closing = a.close().then(() => {
      closed = true
    })
    await sleep(20)
    expect(closed).toBe(false) // the first computation is still running
    slow.resolve()
    await first
    await closing
    expect(closed).toBe(true)
  })
})
