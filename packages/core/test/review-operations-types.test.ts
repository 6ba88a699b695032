import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type AnyBackend,
  type Cache,
  type CachedResult,
  type CacheStatisticsSnapshot,
  type ComputeInfo,
  createCache,
  type OnBackend,
  type SyncBackend,
} from '../src/index.js'
import type { FullMapBackend } from './support/backends.js'

// Review of the types of caches whose backend is known only at run time (a URL string, RAPIDE_URL): they
// must never promise a plain value where a promise may come, nor the reverse. Checked by `tsc` (the
// package's typecheck includes its tests); the caches below are never created.

const never = false as boolean

describe('types of run-time backends (locked in)', () => {
  it('a URL whose scheme is not a lower-case literal is either: T | Promise<T>', () => {
    if (never) {
      // The scheme is read case-insensitively at run time; the types cannot, so they claim nothing.
      const upper = createCache({ domainKey: 'T', backend: 'MEM://' })
      expectTypeOf(upper.wrap('F', (n: number) => n)(1)).toEqualTypeOf<number | Promise<number>>()
      const registered = createCache({ domainKey: 'T', backend: 'dynamo://table' })
      expectTypeOf(registered.invalidateDomain()).toEqualTypeOf<void | Promise<void>>()
      const either = createCache({ domainKey: 'T', backend: 'mem://' as 'mem://' | 'redis://h' })
      expectTypeOf(either.get<number>('k')).toEqualTypeOf<number | undefined | Promise<number | undefined>>()
    }
    expect(never).toBe(false)
  })

  it('a generator function on a maybe-synchronous cache is either kind of generator, and for await reads both', async () => {
    if (never) {
      const implicit = createCache({ domainKey: 'T' })
      const numbers = implicit.wrap('NUMBERS', function* (n: number) {
        yield n
        return 'done'
      })
      expectTypeOf(numbers(1)).toEqualTypeOf<
        Generator<number, string, undefined> | AsyncGenerator<number, string, undefined>
      >()
      for await (const value of numbers(1)) expectTypeOf(value).toEqualTypeOf<number>()
    }
    expect(never).toBe(false)
  })

  it('cache.method on a RAPIDE_URL cache takes only methods that return promises', () => {
    if (never) {
      const implicit = createCache({ domainKey: 'T' })
      class Prices {
        @implicit.method('ASYNC_PRICE')
        async price(sku: string): Promise<number> {
          return sku.length
        }
        // @ts-expect-error a synchronous method cannot be cached where the store may answer with a promise
        @implicit.method('SYNC_PRICE')
        syncPrice(sku: string): number {
          return sku.length
        }
      }
      expectTypeOf(new Prices().price('a')).toEqualTypeOf<Promise<number>>()
    }
    expect(never).toBe(false)
  })

  it('OnBackend and CachedResult: exact for known backends, either for a maybe-synchronous one', () => {
    expectTypeOf<OnBackend<SyncBackend<unknown>, number>>().toEqualTypeOf<number>()
    expectTypeOf<OnBackend<AnyBackend, number>>().toEqualTypeOf<number | Promise<number>>()
    expectTypeOf<CachedResult<AnyBackend, PromiseLike<number>>>().toEqualTypeOf<Promise<number>>()
    expectTypeOf<CachedResult<FullMapBackend, number>>().toEqualTypeOf<number>()
  })

  it('stats() and the hook are typed without any', () => {
    expectTypeOf<ReturnType<Cache<AnyBackend>['stats']>>().toEqualTypeOf<CacheStatisticsSnapshot>()
    expectTypeOf<CacheStatisticsSnapshot['functions'][string]['hitRatio']>().toEqualTypeOf<
      number | undefined
    >()
    expectTypeOf<ComputeInfo['refresh']>().toEqualTypeOf<boolean>()
  })
})
