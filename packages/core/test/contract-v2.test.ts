import { describe, expect, it } from 'vitest'
import {
  type AsyncBackend,
  type BackendEntry,
  type BackendV1,
  createCache,
  describeBackend,
  NotSupportedError,
  type SyncBackend,
} from '../src/index.js'

/** The smallest honest v2 backend: a Map of bytes, synchronous, this process only. */
class MapBackend implements SyncBackend {
  readonly specificationVersion = 2 as const
  readonly name = 'map'
  readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: false } as const
  readonly data = new Map<string, Uint8Array>()
  get(key: string): Uint8Array | undefined {
    return this.data.get(key)
  }
  set(key: string, value: Uint8Array): void {
    this.data.set(key, value)
  }
  delete(key: string): boolean {
    return this.data.delete(key)
  }
}

/** The same store seen as shared and asynchronous (as a network store would be). */
class AsyncMapBackend implements AsyncBackend {
  readonly specificationVersion = 2 as const
  readonly name = 'async-map'
  readonly capabilities = { sync: false, persistent: true, shared: true, inProcessValues: false } as const
  readonly data = new Map<string, Uint8Array>()
  throwSynchronously = false
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.data.get(key)
  }
  set(key: string, value: Uint8Array): Promise<void> {
    if (this.throwSynchronously) throw new Error('connection lost')
    this.data.set(key, value)
    return Promise.resolve()
  }
  async delete(key: string): Promise<boolean> {
    return this.data.delete(key)
  }
}

describe('contract v2 is checked when the cache is created', () => {
  it('half an optional group is refused, naming what is missing', () => {
    const half = Object.assign(new MapBackend(), {
      setNx: () => true,
      incr: () => 1,
    })
    expect(() => createCache({ domainKey: 'D', backend: half })).toThrow(
      expect.objectContaining({
        code: 'E_INCOMPATIBLE_BACKEND',
        message: expect.stringMatching(/"atomics" group \(setNx, incr\) but not deleteIfEquals, expire/),
      }),
    )
  })

  it('a v2 backend with a version 1 speed member is told where it moved', () => {
    const old = Object.assign(new MapBackend(), { getIn: () => undefined, setIn: () => undefined })
    expect(() => createCache({ domainKey: 'D', backend: old })).toThrow(/getIn\(\).*accelerations\(\)/)
  })

  it('a backend that declares sync but answers with promises is refused, not silently recomputed', () => {
    const lying = {
      specificationVersion: 2,
      name: 'lying',
      capabilities: { sync: true, persistent: false, shared: false, inProcessValues: false },
      get: async () => undefined,
      set: async () => undefined,
      delete: async () => false,
    }
    expect(() => createCache({ domainKey: 'D', backend: lying as never })).toThrow(
      expect.objectContaining({
        code: 'E_INCOMPATIBLE_BACKEND',
        message: expect.stringMatching(/sync: false/),
      }),
    )
  })

  it('a sync backend that answers one operation with a promise fails that operation with a typed error', () => {
    const backend = Object.assign(new MapBackend(), {
      delete: (() => Promise.resolve(true)) as unknown as MapBackend['delete'],
    })
    const cache = createCache({ domainKey: 'D', backend })
    expect(() => cache.delete('k')).toThrow(expect.objectContaining({ code: 'E_INCOMPATIBLE_BACKEND' }))
  })

  it('an unknown contract version is refused with what to change', () => {
    const future = { ...new MapBackend(), specificationVersion: 3 }
    expect(() => createCache({ domainKey: 'D', backend: future as never })).toThrow(
      /declares contract version 3; this @rapide\/core implements 2/,
    )
    const unversioned = { ...new MapBackend(), specificationVersion: undefined }
    expect(() => createCache({ domainKey: 'D', backend: unversioned as never })).toThrow(
      /Add `readonly specificationVersion = 2`/,
    )
  })

  it('the types refuse a lying sync flag', () => {
    const lying: SyncBackend = {
      specificationVersion: 2,
      name: 'lying',
      capabilities: { sync: true, persistent: false, shared: false, inProcessValues: false },
      // @ts-expect-error: a SyncBackend's get answers directly, not with a promise.
      get: async () => undefined,
      set: () => undefined,
      delete: () => false,
    }
    const confused: AsyncBackend = {
      ...new AsyncMapBackend(),
      // @ts-expect-error: an AsyncBackend declares sync: false.
      capabilities: { sync: true, persistent: false, shared: false, inProcessValues: false },
    }
    expect([lying, confused]).toHaveLength(2)
  })
})

describe('the adapter: one policy for what a backend lacks', () => {
  it('a minimal synchronous store: batches are loops and atomics are emulated (nothing can interleave)', () => {
    const cache = createCache({ domainKey: 'D', backend: new MapBackend() })
    cache.setMany({ a: 1, b: 2 })
    expect(cache.getMany(['a', 'b'])).toEqual([1, 2])
    expect(cache.setNx('a', 3)).toBe(false)
    expect(cache.incr('n', 2)).toBe(2)
    const token = cache.lock('job', { ttl: 10 })
    expect(token).toBeTypeOf('string')
    expect(cache.unlock('job', token!)).toBe(true)
    expect(() => cache.deletePattern('*')).toThrow(NotSupportedError)
  })

  it('a minimal shared store: key-value and invalidation batches get the same refusal, atomics too', async () => {
    const cache = createCache({ domainKey: 'D', backend: new AsyncMapBackend() })
    const f = cache.wrap('F', async (n: number) => n)
    const g = cache.wrap('G', async (n: number) => n)
    await cache.set('one', 1)
    await expect(cache.setMany({ a: 1, b: 2 })).rejects.toThrow(/no setMany.*not atomic/)
    const batch = cache.batch()
    batch.invalidateFunc('F')
    batch.invalidateFunc('G')
    await expect(batch.commit()).rejects.toThrow(/no setMany.*not atomic/)
    await expect(cache.setNx('k', 1)).rejects.toBeInstanceOf(NotSupportedError)
    await expect(cache.incr('k')).rejects.toBeInstanceOf(NotSupportedError)
    // One write is atomic by itself: a single invalidation works.
    expect(await f(1)).toBe(1)
    await g.invalidateAll()
  })

  it('an asynchronous backend that throws synchronously makes the call reject, never throw', async () => {
    const backend = new AsyncMapBackend()
    const cache = createCache({ domainKey: 'D', backend })
    backend.throwSynchronously = true
    let call: Promise<void> | undefined
    expect(() => {
      call = cache.set('k', 1)
    }).not.toThrow()
    await expect(call).rejects.toMatchObject({ code: 'E_BACKEND' })
  })

  it('describeBackend says what each feature needs, from the same policy', () => {
    const shared = describeBackend(new AsyncMapBackend())
    const row = (rows: typeof shared, feature: string) => rows.find((r) => r.feature === feature)
    expect(row(shared, 'cache.setMany')).toMatchObject({
      status: 'refused',
      needs: ['getMany', 'setMany', 'deleteMany'],
    })
    expect(row(shared, 'cache.incr')).toMatchObject({ status: 'refused' })
    expect(row(shared, 'cache.deletePattern / clear')).toMatchObject({
      status: 'refused',
      needs: ['keys', 'deletePrefix'],
    })
    expect(row(shared, 'a miss in one write')).toMatchObject({ status: 'emulated' })
    const alone = describeBackend(new MapBackend())
    expect(row(alone, 'cache.setMany')).toMatchObject({ status: 'emulated' })
    expect(row(alone, 'cache.incr')).toMatchObject({ status: 'emulated' })
  })
})

describe('contract v1 backends keep working', () => {
  /** A version 1 backend with the flat speed members the bridge turns into accelerations. */
  class V1Backend implements BackendV1 {
    readonly specificationVersion = 1 as const
    readonly name = 'v1'
    readonly capabilities = { sync: true, persistent: true, shared: true, inProcessValues: false } as const
    readonly data = new Map<string, Uint8Array>()
    guardedWrites = 0
    get(key: string) {
      return this.data.get(key)
    }
    set(key: string, value: Uint8Array) {
      this.data.set(key, value)
    }
    delete(key: string) {
      return this.data.delete(key)
    }
    getMany(keys: readonly string[]) {
      return keys.map((key) => this.data.get(key))
    }
    setNx(key: string, value: Uint8Array) {
      if (this.data.has(key)) return false
      this.data.set(key, value)
      return true
    }
    setGuarded(guard: BackendEntry, entry: BackendEntry) {
      this.guardedWrites++
      if (!this.data.has(guard.key)) this.data.set(guard.key, guard.value)
      if (Buffer.compare(this.data.get(guard.key)!, guard.value) === 0) this.data.set(entry.key, entry.value)
    }
  }

  it('a v1 backend caches and invalidates, its setGuarded used as an acceleration', () => {
    const backend = new V1Backend()
    const cache = createCache({ domainKey: 'D', backend })
    let runs = 0
    const f = cache.wrap('F', (n: number) => n + ++runs * 0)
    expect(f(1)).toBe(1)
    expect(f(1)).toBe(1)
    expect(runs).toBe(1)
    expect(backend.guardedWrites).toBe(1)
    f.invalidate(1)
    expect(f(1)).toBe(1)
    expect(runs).toBe(2)
  })
})

describe('review regressions of the adapter', () => {
  it('a synchronous backend may close asynchronously: close() waits for it', async () => {
    let closed = false
    class Flushing extends MapBackend {
      async close(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 10))
        closed = true
      }
    }
    const cache = createCache({ domainKey: 'D', backend: Flushing })
    cache.set('k', 1)
    await cache.close()
    expect(closed).toBe(true)
  })

  it('invalidating a function that is not wrapped here never asks the backend for a scoped view', () => {
    const scoped: string[] = []
    class Scoped extends MapBackend {
      accelerations() {
        return {
          scope: (namespace: string) => {
            scoped.push(namespace)
            return {
              get: (key: string) => this.get(namespace + key),
              set: (key: string, value: Uint8Array) => this.set(namespace + key, value),
            }
          },
        }
      }
    }
    const cache = createCache({ domainKey: 'D', backend: new Scoped() })
    cache.invalidateResult('ELSEWHERE', 1)
    cache.invalidateFunc('ELSEWHERE')
    expect(scoped).toEqual([])
    const f = cache.wrap('F', (n: number) => n)
    expect(f(1)).toBe(1)
    expect(scoped).toHaveLength(1)
  })

  it('a version 1 synchronous backend may still list keys asynchronously; a version 2 one is told what is wrong', async () => {
    const entries = new Map<string, unknown>()
    const v1: BackendV1<unknown> = {
      specificationVersion: 1,
      name: 'v1-async-keys',
      capabilities: { sync: true, persistent: false, shared: false, inProcessValues: true },
      get: (key) => entries.get(key),
      set: (key, value) => void entries.set(key, value),
      delete: (key) => entries.delete(key),
      async *keys(prefix) {
        for (const key of entries.keys()) if (key.startsWith(prefix)) yield key
      },
    }
    const cache = createCache({ domainKey: 'D', backend: v1 })
    cache.set('a', 1)
    expect(await cache.clear()).toBe(1)
    const v2 = Object.assign(new MapBackend(), {
      async *keys() {
        yield 'x'
      },
      deletePrefix: () => 0,
    })
    const strict = createCache({ domainKey: 'D', backend: v2 as never })
    expect(() => strict.deletePattern('*')).toThrow(/keys\(\) returned an async iterable/)
  })

  it('a version 1 shared backend with setNx alone creates generations with it (no overwriting race)', async () => {
    const data = new Map<string, Uint8Array>()
    let setNxCalls = 0
    const v1: BackendV1 = {
      specificationVersion: 1,
      name: 'v1-setnx',
      capabilities: { sync: false, persistent: false, shared: true, inProcessValues: false },
      get: async (key) => data.get(key),
      set: async (key, value) => void data.set(key, value),
      delete: async (key) => data.delete(key),
      setNx: async (key, value) => {
        setNxCalls++
        if (data.has(key)) return false
        data.set(key, value)
        return true
      },
    }
    const cache = createCache({ domainKey: 'D', backend: v1 })
    const f = cache.wrap('F', async (n: number) => n)
    expect(await f(1)).toBe(1)
    expect(setNxCalls).toBeGreaterThan(0)
  })
})
