import { describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'
import { AsyncBytesBackend, SyncMapBackend } from './support/backends.js'

async function drain<T>(sequence: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const value of sequence) out.push(value)
  return out
}

describe('generator functions: the yielded sequence is cached and replayed', () => {
  for (const [name, make] of [
    ['live values (memory-like)', () => new SyncMapBackend()],
    ['bytes (shared)', () => new AsyncBytesBackend()],
  ] as const) {
    it(`an async generator replays its sequence on later calls (${name})`, async () => {
      const cache = createCache({ domainKey: 'S', backend: make() })
      let runs = 0
      const pages = cache.wrap('PAGES', async function* (n: number) {
        runs++
        for (let i = 0; i < n; i++) yield { page: i }
      })
      expect(await drain(pages(3))).toEqual([{ page: 0 }, { page: 1 }, { page: 2 }])
      expect(await drain(pages(3))).toEqual([{ page: 0 }, { page: 1 }, { page: 2 }])
      expect(await drain(pages(3))).toEqual([{ page: 0 }, { page: 1 }, { page: 2 }])
      expect(runs).toBe(1)
      await pages.invalidate(3)
      expect(await drain(pages(3))).toHaveLength(3)
      expect(runs).toBe(2)
    })

    it(`a generator that throws midway caches nothing (${name})`, async () => {
      const cache = createCache({ domainKey: 'S', backend: make() })
      let runs = 0
      const flaky = cache.wrap('FLAKY', async function* () {
        runs++
        yield 1
        if (runs === 1) throw new Error('midway')
        yield 2
      })
      await expect(drain(flaky())).rejects.toThrow('midway')
      expect(await drain(flaky())).toEqual([1, 2])
      expect(await drain(flaky())).toEqual([1, 2])
      expect(runs).toBe(2)
    })
  }

  it('a synchronous generator stays synchronous on a synchronous backend', () => {
    const cache = createCache({ domainKey: 'S', backend: new SyncMapBackend() })
    let runs = 0
    const range = cache.wrap('RANGE', function* (n: number) {
      runs++
      for (let i = 0; i < n; i++) yield i
    })
    expect([...range(3)]).toEqual([0, 1, 2])
    expect([...range(3)]).toEqual([0, 1, 2])
    expect(runs).toBe(1)
  })

  it('a synchronous generator on an asynchronous backend replays as an async generator', async () => {
    const cache = createCache({ domainKey: 'S', backend: new AsyncBytesBackend() })
    let runs = 0
    const range = cache.wrap('RANGE', function* (n: number) {
      runs++
      for (let i = 0; i < n; i++) yield i
    })
    expect(await drain(range(3))).toEqual([0, 1, 2])
    expect(await drain(range(3))).toEqual([0, 1, 2])
    expect(runs).toBe(1)
  })

  it('an error in the arguments surfaces at the first next(), like a generator', async () => {
    const cache = createCache({ domainKey: 'S', backend: new SyncMapBackend() })
    const g = cache.wrap('G', async function* (_f: unknown) {
      yield 1
    })
    const sequence = g(() => 1)
    await expect(sequence.next()).rejects.toMatchObject({ code: 'E_UNKEYABLE_ARGUMENT' })
  })

  it('a function returning a generator object is not cached (it would be served exhausted)', async () => {
    const cache = createCache({ domainKey: 'S', backend: new SyncMapBackend() })
    const errors: unknown[] = []
    cache.on('error', ({ error }) => errors.push(error))
    async function* source() {
      yield 1
    }
    const f = cache.wrap('F', () => source())
    expect(await drain(f())).toEqual([1])
    expect(await drain(f())).toEqual([1])
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatchObject({ code: 'E_NOT_SUPPORTED' })
  })
})
