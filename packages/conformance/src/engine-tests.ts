import { crc32 } from 'node:zlib'
import {
  type AnyBackend,
  BackendError,
  type Cache,
  ClosedError,
  createCache,
  DuplicateFunctionKeyError,
  jsonSerializer,
  NotSupportedError,
  RapideError,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { deferred, type Harness, sleep, uniqueName } from './harness.js'

/** Where a run of the engine tests puts its data: the second run uses another prefix to catch leaks. */
export interface Placement {
  readonly label: string
  readonly keyPrefix: string
}

/**
 * The cache engine over the backend: wrapping, every invalidation level, race-free invalidation, expiry,
 * value round-trips, the key-value API and the error policy.
 */
export function engineTests<B extends AnyBackend>(harness: Harness<B>, probe: B, placement: Placement): void {
  const caps = probe.capabilities
  const has = (method: keyof AnyBackend) => typeof probe[method] === 'function'
  const atomicOk = caps.sync && !caps.shared
  const cacheOn = (backend: B, extra: { defaultTtl?: number | `${number}ms`; domainKey?: string } = {}) =>
    createCache({
      domainKey: extra.domainKey ?? uniqueName('DOMAIN'),
      backend,
      keyPrefix: placement.keyPrefix,
      ...(extra.defaultTtl === undefined ? {} : { defaultTtl: extra.defaultTtl }),
      onError: 'raise',
    })
  const newCache = (extra?: Parameters<typeof cacheOn>[1]) => cacheOn(harness.backend(), extra)

  describe(`engine (${placement.label})`, () => {
    it('caches a function by its arguments', async () => {
      const cache = newCache()
      let calls = 0
      const double = cache.wrap('DOUBLE', (n: number) => {
        calls++
        return n * 2
      })
      expect(await double(2)).toBe(4)
      expect(await double(2)).toBe(4)
      expect(await double(3)).toBe(6)
      expect(calls).toBe(2)
    })

    it.skipIf(!caps.sync)('sync stays sync: a synchronous function returns a plain value', () => {
      const cache = newCache()
      const double = cache.wrap('DOUBLE', (n: number) => n * 2)
      expect(double(2)).toBe(4)
      expect(double(2)).toBe(4)
    })

    it.skipIf(caps.sync)('an asynchronous backend returns promises for synchronous functions', async () => {
      const cache = newCache()
      const double = cache.wrap('DOUBLE', (n: number) => n * 2)
      const result = double(2) as unknown
      expect(result).toBeInstanceOf(Promise)
      expect(await result).toBe(4)
    })

    it('async functions return promises on hits too', async () => {
      const cache = newCache()
      const load = cache.wrap('LOAD', async (id: string) => ({ id }))
      const first = load('a')
      expect(first).toBeInstanceOf(Promise)
      expect(await first).toEqual({ id: 'a' })
      const second = load('a')
      expect(second).toBeInstanceOf(Promise)
      expect(await second).toEqual({ id: 'a' })
    })

    it('f(1) and f(1, undefined) are one call; 1 and "1" are not', async () => {
      const cache = newCache()
      let calls = 0
      const f = cache.wrap('F', (a: unknown, b?: unknown) => {
        calls++
        return `${typeof a}:${String(b)}`
      })
      await f(1)
      await f(1, undefined)
      expect(calls).toBe(1)
      expect(await f('1')).toBe('string:undefined')
      expect(await f(1, null)).toBe('number:null')
      expect(calls).toBe(3)
    })

    it('round-trips rich values through the backend', async () => {
      const cache = newCache()
      const value = {
        date: new Date('2024-02-29T12:00:00.000Z'),
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['k', { nested: [1, 2] }],
        ]),
        set: new Set(['a', 'b']),
        big: 2n ** 70n,
        undef: undefined,
        nan: Number.NaN,
        negativeZero: -0,
        bytes: new Uint8Array([0, 1, 255]),
        floats: new Float64Array([1.5, -2]),
        nested: { deep: { list: [null, true, 'x'] } },
      }
      const get = cache.wrap('RICH', (_id: number) => value)
      await get(1)
      const back = (await get(1)) as typeof value
      expect(back).toEqual(value)
      expect(back.date).toBeInstanceOf(Date)
      expect(back.map).toBeInstanceOf(Map)
      expect(back.set).toBeInstanceOf(Set)
      expect(typeof back.big).toBe('bigint')
      expect('undef' in back).toBe(true)
      expect(Object.is(back.negativeZero, -0)).toBe(true)
      expect(back.floats).toBeInstanceOf(Float64Array)
    })

    it('caches undefined and null results', async () => {
      const cache = newCache()
      let calls = 0
      const nothing = cache.wrap('NOTHING', (n: number) => {
        calls++
        return n === 0 ? undefined : null
      })
      expect(await nothing(0)).toBeUndefined()
      expect(await nothing(0)).toBeUndefined()
      expect(await nothing(1)).toBeNull()
      expect(await nothing(1)).toBeNull()
      expect(calls).toBe(2)
    })

    it('invalidateResult drops one result, invalidateFunc one function, invalidateDomain all', async () => {
      const cache = newCache()
      let version = 1
      const a = cache.wrap('A', (n: number) => `a${n}v${version}`)
      const b = cache.wrap('B', (n: number) => `b${n}v${version}`)
      await a(1)
      await a(2)
      await b(1)
      version = 2
      await cache.invalidateResult('A', 1)
      expect(await a(1)).toBe('a1v2')
      expect(await a(2)).toBe('a2v1')
      await cache.invalidateFunc('A')
      expect(await a(2)).toBe('a2v2')
      expect(await b(1)).toBe('b1v1')
      version = 3
      await cache.invalidateDomain()
      expect(await a(1)).toBe('a1v3')
      expect(await b(1)).toBe('b1v3')
    })

    it('results stored after an invalidation survive the backend reclaiming the dead ones', async () => {
      const backend = harness.backend()
      const cache = cacheOn(backend)
      let calls = 0
      const f = cache.wrap('F', (n: number) => {
        calls++
        return n
      })
      await f(1)
      await f(2)
      await cache.invalidateFunc('F')
      await f(1)
      await harness.options.settle?.(backend)
      expect(calls).toBe(3)
      expect(await f(1)).toBe(1)
      expect(calls).toBe(3)
      await cache.invalidateDomain()
      expect(await f(2)).toBe(2)
      await harness.options.settle?.(backend)
      expect(await f(2)).toBe(2)
      expect(calls).toBe(4)
      await cache.close()
    })

    it('the wrapped function’s shortcuts invalidate and refresh', async () => {
      const cache = newCache()
      let version = 1
      const f = cache.wrap('F', (n: number) => `${n}v${version}`)
      await f(1)
      await f(2)
      version = 2
      await f.invalidate(1)
      expect(await f(1)).toBe('1v2')
      expect(await f(2)).toBe('2v1')
      version = 3
      expect(await f.refresh(2)).toBe('2v3')
      expect(await f(2)).toBe('2v3')
      version = 4
      await f.invalidateAll()
      expect(await f(1)).toBe('1v4')
    })

    it.skipIf(!caps.shared || has('setMany'))(
      'a shared backend without setMany refuses a batch',
      async () => {
        const cache = newCache()
        await expect(async () =>
          cache.batch().invalidateFunc('A').invalidateFunc('B').commit(),
        ).rejects.toThrow(NotSupportedError)
      },
    )

    it.skipIf(caps.shared && !has('setMany'))('a batch of invalidations applies together', async () => {
      const cache = newCache()
      let version = 1
      const a = cache.wrap('A', (n: number) => `a${n}v${version}`)
      const b = cache.wrap('B', (n: number) => `b${n}v${version}`)
      await a(1)
      await a(2)
      await b(1)
      version = 2
      await cache.batch().invalidateResult('A', 1).invalidateFunc('B').commit()
      expect(await a(1)).toBe('a1v2')
      expect(await a(2)).toBe('a2v1')
      expect(await b(1)).toBe('b1v2')
    })

    /**
     * A slow function whose first computation for `1` has started (it read version 1) and is held open
     * while version 2 is published and the given level is invalidated, through `by` (another instance
     * over the same store, or the cache itself). `warm`: the function has been called before, so only the
     * result's own generation is new (on a backend with `setGuarded`, it is then written with the result).
     */
    const computationAcrossInvalidation = async (
      level: 'result' | 'function' | 'domain',
      {
        cache = newCache(),
        by = cache,
        warm = false,
      }: { cache?: Cache<B>; by?: Cache<B>; warm?: boolean } = {},
    ) => {
      let version = 1
      const gate = deferred()
      const started = deferred()
      const slow = cache.wrap('SLOW', async (id: number) => {
        const seen = version
        if (id === 1) {
          started.resolve()
          await gate.promise
        }
        return `${id}v${seen}`
      })
      if (warm) await slow(0)
      const before = slow(1)
      await started.promise
      version = 2
      if (level === 'result') await by.invalidateResult('SLOW', 1)
      else if (level === 'function') await by.invalidateFunc('SLOW')
      else await by.invalidateDomain()
      return { slow, before, release: () => gate.resolve() }
    }

    for (const level of ['result', 'function', 'domain'] as const) {
      it(`race-free: a computation running across a ${level} invalidation never becomes visible`, async () => {
        const { slow, before, release } = await computationAcrossInvalidation(level)
        // The old computation finishes after the invalidation, with nothing else writing the key...
        release()
        expect(await before).toBe('1v1')
        await sleep(10)
        // ...and its late write must not be served.
        expect(await slow(1)).toBe('1v2')
      })

      it(`race-free: a call after a ${level} invalidation does not join the computation running before it`, async () => {
        const { slow, before, release } = await computationAcrossInvalidation(level)
        const after = slow(1)
        release()
        expect(await before).toBe('1v1')
        expect(await after).toBe('1v2')
        expect(await slow(1)).toBe('1v2')
      })

      it.skipIf(!caps.shared)(
        `shared: race-free across instances: a computation running while another instance invalidates its ${level} never becomes visible`,
        async () => {
          // Two instances, as two processes would be: nothing in memory is shared, only the store.
          const domainKey = uniqueName('DOMAIN')
          const there = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
          const { slow, before, release } = await computationAcrossInvalidation(level, {
            cache: cacheOn(harness.backend(), { domainKey }),
            by: there,
            warm: true,
          })
          release()
          expect(await before).toBe('1v1')
          await sleep(10)
          // The late write of the first computation is in the store, but no instance may serve it.
          expect(await there.wrap('SLOW', async (id: number) => `${id}v2`)(1)).toBe('1v2')
          expect(await slow(1)).toBe('1v2')
        },
      )
    }

    it('single-flight: concurrent calls for one missing key share one computation', async () => {
      const cache = newCache()
      let calls = 0
      const gate = deferred()
      const load = cache.wrap('LOAD', async (id: number) => {
        calls++
        await gate.promise
        return id * 10
      })
      const calls10 = Array.from({ length: 10 }, () => load(7))
      await sleep(20)
      gate.resolve()
      expect(await Promise.all(calls10)).toEqual(Array(10).fill(70))
      expect(calls).toBe(1)
    })

    it('results expire after their ttl', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache({ defaultTtl: `${30 * unit}ms` })
      let calls = 0
      const f = cache.wrap('F', (n: number) => {
        calls++
        return n
      })
      await f(1)
      await f(1)
      expect(calls).toBe(1)
      await sleep(80 * unit)
      await f(1)
      expect(calls).toBe(2)
    })

    it('a per-function ttl overrides the default', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache({ defaultTtl: 3600 })
      let calls = 0
      const f = cache.wrap(
        'F',
        (n: number) => {
          calls++
          return n
        },
        { ttl: `${30 * unit}ms` },
      )
      await f(1)
      await sleep(80 * unit)
      await f(1)
      expect(calls).toBe(2)
    })

    it.skipIf(!caps.shared)(
      'shared: every invalidation level through one instance is seen through another',
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const one = cacheOn(harness.backend(), { domainKey })
        const two = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
        let version = 1
        const f1 = one.wrap('F', (n: number) => `${n}v${version}`)
        const f2 = two.wrap('F', (n: number) => `${n}v${version}`)
        expect(await f1(1)).toBe('1v1')
        version = 2
        expect(await f2(1)).toBe('1v1')
        await one.invalidateResult('F', 1)
        expect(await f2(1)).toBe('1v2')
        version = 3
        await two.invalidateFunc('F')
        expect(await f1(1)).toBe('1v3')
        version = 4
        await one.invalidateDomain()
        expect(await f2(1)).toBe('1v4')
      },
    )

    it.skipIf(!caps.shared)(
      'shared: a computation running in one instance across an invalidation in another stays invisible',
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const one = cacheOn(harness.backend(), { domainKey })
        const two = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
        let version = 1
        const gate = deferred()
        const started = deferred()
        const slow = one.wrap('SLOW', async (n: number) => {
          const seen = version
          started.resolve()
          await gate.promise
          return `${n}v${seen}`
        })
        const fast = two.wrap('SLOW', async (n: number) => `${n}v${version}`)
        const running = slow(1)
        await started.promise
        version = 2
        await two.invalidateResult('SLOW', 1)
        gate.resolve()
        expect(await running).toBe('1v1')
        expect(await fast(1)).toBe('1v2')
        expect(await slow(1)).toBe('1v2')
      },
    )

    it('a closed cache refuses calls, invalidations and key-value operations with ClosedError', async () => {
      const cache = newCache()
      const f = cache.wrap('F', (n: number) => n)
      await f(1)
      await cache.close()
      await cache.close()
      await expect(async () => f(1)).rejects.toThrow(ClosedError)
      await expect(async () => cache.invalidateFunc('F')).rejects.toThrow(ClosedError)
      await expect(async () => cache.get('k')).rejects.toThrow(ClosedError)
    })

    it('duplicate function keys in one domain are an error', () => {
      const cache = newCache()
      cache.wrap('SAME', () => 1)
      expect(() => cache.wrap('SAME', () => 2)).toThrow(DuplicateFunctionKeyError)
    })

    it('domains are isolated: invalidateDomain and clear touch one domain only', async () => {
      const backend = harness.backend()
      const one = cacheOn(backend)
      const two = cacheOn(backend)
      let version = 1
      const f1 = one.wrap('F', (n: number) => `one${n}v${version}`)
      const f2 = two.wrap('F', (n: number) => `two${n}v${version}`)
      await f1(1)
      await f2(1)
      await one.set('k', 'one')
      await two.set('k', 'two')
      version = 2
      await one.invalidateDomain()
      expect(await f1(1)).toBe('one1v2')
      expect(await f2(1)).toBe('two1v1')
      expect(await two.get('k')).toBe('two')
      if (has('keys') || has('deletePrefix')) {
        await one.clear()
        expect(await one.get('k')).toBeUndefined()
        expect(await two.get('k')).toBe('two')
        expect(await f2(1)).toBe('two1v1')
      }
    })

    it('key-value: get, set, setNx, getMany, setMany, delete, deleteMany', async () => {
      const cache = newCache()
      expect(await cache.get('missing')).toBeUndefined()
      await cache.set('a', { n: 1 })
      expect(await cache.get('a')).toEqual({ n: 1 })
      if (has('setNx') || atomicOk) {
        expect(await cache.setNx('a', 'other')).toBe(false)
        expect(await cache.setNx('fresh', 'value')).toBe(true)
      }
      await cache.setMany({ b: 2, c: new Date(0) })
      expect(await cache.getMany(['a', 'b', 'nope', 'c'])).toEqual([{ n: 1 }, 2, undefined, new Date(0)])
      expect(await cache.delete('a')).toBe(true)
      expect(await cache.delete('a')).toBe(false)
      expect(await cache.deleteMany(['b', 'c', 'nope'])).toBe(2)
    })

    it('key-value: versions and prefixes keep keys apart', async () => {
      const backend = harness.backend()
      const domainKey = uniqueName('DOMAIN')
      const v1 = createCache({ domainKey, backend, keyPrefix: placement.keyPrefix, version: 1 })
      const v2 = createCache({ domainKey, backend, keyPrefix: placement.keyPrefix, version: 2 })
      await v1.set('key', 'one')
      expect(await v2.get('key')).toBeUndefined()
      expect(await v1.get('key', { version: 1 })).toBe('one')
      expect(await v2.get('key', { version: 1 })).toBe('one')
      await v1.set('key', 'two', { version: 2 })
      expect(await v2.get('key')).toBe('two')
    })

    it('key-value: expiry and expire()', async () => {
      const unit = harness.ttlUnitMs
      const cache = newCache()
      await cache.set('short', 1, { ttl: `${20 * unit}ms` })
      await cache.set('long', 2)
      if (has('expire') || atomicOk) expect(await cache.expire('long', `${20 * unit}ms`)).toBe(true)
      await sleep(50 * unit)
      expect(await cache.get('short')).toBeUndefined()
      if (has('expire') || atomicOk) expect(await cache.get('long')).toBeUndefined()
    })

    it.skipIf(!has('incr') && !atomicOk)('key-value: incr is exact under concurrency', async () => {
      const cache = newCache()
      await Promise.all(Array.from({ length: 50 }, () => cache.incr('counter')))
      expect(await cache.incr('counter', 10)).toBe(60)
      expect(await cache.get('counter')).toBe(60)
      await cache.set('text', 'abc')
      await expect(async () => cache.incr('text')).rejects.toThrow(RapideError)
    })

    it.skipIf(!has('keys') && !has('deletePattern' as keyof AnyBackend))(
      'key-value: deletePattern matches globs within this cache only',
      async () => {
        const backend = harness.backend()
        const cache = cacheOn(backend)
        const neighbour = cacheOn(backend)
        await cache.setMany({ 'user:1': 1, 'user:2': 2, 'user*x': 3, 'post:1': 4, 'us[er]:9': 5 })
        await neighbour.set('user:1', 'keep')
        expect(await cache.deletePattern('user:*')).toBe(2)
        expect(await cache.get('post:1')).toBe(4)
        expect(await cache.get('user*x')).toBe(3)
        expect(await cache.deletePattern('user\\*x')).toBe(1)
        expect(await cache.deletePattern('us\\[er\\]:?')).toBe(1)
        expect(await neighbour.get('user:1')).toBe('keep')
      },
    )

    it.skipIf(!(has('setNx') && has('deleteIfEquals')) && !atomicOk)(
      'locks: one holder at a time, released only by its token, expiring',
      async () => {
        const unit = harness.ttlUnitMs
        const cache = newCache()
        const token = await cache.lock('job', { ttl: `${40 * unit}ms` })
        expect(typeof token).toBe('string')
        expect(await cache.lock('job', { ttl: 10 })).toBeUndefined()
        expect(await cache.isLocked('job')).toBe(true)
        expect(await cache.unlock('job', 'not-the-token')).toBe(false)
        expect(await cache.unlock('job', token!)).toBe(true)
        expect(await cache.isLocked('job')).toBe(false)
        await cache.lock('job', { ttl: `${20 * unit}ms` })
        await sleep(50 * unit)
        expect(await cache.isLocked('job')).toBe(false)
      },
    )

    it('ping answers', async () => {
      expect(await newCache().ping()).toBe(true)
    })

    it.skipIf(caps.inProcessValues)('a corrupted entry is a reported miss, never a crash', async () => {
      const backend = harness.backend()
      const cache = cacheOn(backend)
      const errors: string[] = []
      cache.on('error', ({ operation }) => errors.push(operation))
      // Where the result is stored, learnt from the engine (the key layout is not the kit's business).
      const stored: string[] = []
      cache.on('set', ({ key }) => stored.push(key))
      let calls = 0
      const f = cache.wrap('F', (n: number) => {
        calls++
        return { n }
      })
      await f(1)
      expect(stored).toHaveLength(1)
      // Overwrite the stored result with garbage, then a hostile payload.
      for (const garbage of [
        Buffer.from('not an entry'),
        checksummed('v8\n', '{"__proto__":{"polluted":1}}'),
      ]) {
        await backend.set(stored[0]!, new Uint8Array(garbage), undefined)
        expect(await f(1)).toEqual({ n: 1 })
      }
      expect(calls).toBe(3)
      // Each was reported as an entry that does not decode (the second one passes its checksum and reaches
      // the decoder).
      expect(errors.filter((operation) => operation === 'decode')).toHaveLength(2)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })

    it.skipIf(caps.inProcessValues)(
      'the JSON serializer round-trips JSON values and refuses lossy ones',
      async () => {
        const cache = createCache({
          domainKey: uniqueName('DOMAIN'),
          backend: harness.backend(),
          keyPrefix: placement.keyPrefix,
          serializer: jsonSerializer,
          onError: 'raise',
        })
        const f = cache.wrap('F', (n: number) => ({ n, list: [1, 'two', null], nested: { ok: true } }))
        await f(1)
        expect(await f(1)).toEqual({ n: 1, list: [1, 'two', null], nested: { ok: true } })
        const dated = cache.wrap('DATED', () => new Date())
        await expect(async () => dated()).rejects.toThrow(RapideError)
      },
    )

    it('error policy: a failing backend computes (silent) or raises a typed error (raise)', async () => {
      const backend = harness.backend()
      const failing = new Proxy(backend, {
        get(target, property, receiver) {
          if (['get', 'getIn', 'getMany', 'set', 'setIn'].includes(property as string)) {
            return () => {
              throw new Error('disk on fire')
            }
          }
          return Reflect.get(target, property, receiver)
        },
      }) as B
      const silent: Cache<B> = createCache({ domainKey: uniqueName('DOMAIN'), backend: failing })
      const errors: unknown[] = []
      silent.on('error', ({ error }) => errors.push(error))
      const f = silent.wrap('F', (n: number) => n + 1)
      expect(await f(1)).toBe(2)
      expect(errors[0]).toBeInstanceOf(BackendError)
      const raising = createCache({ domainKey: uniqueName('DOMAIN'), backend: failing, onError: 'raise' })
      const g = raising.wrap('G', (n: number) => n + 1)
      await expect(async () => g(1)).rejects.toThrow(BackendError)
    })
  })
}

/**
 * A well-formed, checksummed entry (format 0xF2: magic, flags, header length, header, payload, CRC-32 LE)
 * around a hostile payload, so that it reaches the serializer instead of failing its checksum.
 */
function checksummed(header: string, payload: string): Buffer {
  const head = Buffer.from(header)
  const body = Buffer.concat([Buffer.from([0xf2, 0, 0, head.length]), head, Buffer.from(payload)])
  const checksum = Buffer.alloc(4)
  checksum.writeUInt32LE(crc32(body))
  return Buffer.concat([body, checksum])
}
