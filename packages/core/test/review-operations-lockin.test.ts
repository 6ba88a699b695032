import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type CacheEvents,
  type ComputeInfo,
  createCache,
  InvalidOptionError,
  readUrlOptions,
  redactUrl,
  registerBackendScheme,
} from '../src/index.js'
import { AsyncBytesBackend, FullMapBackend } from './support/backends.js'

// Review of issue 14's core changes: behaviour found right, locked in (statistics on the paths the first
// tests do not walk, the compute hook keeping calls synchronous, a lazy thenable subscribed to once,
// password redaction on the URL shapes it handles, strict query options).

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllEnvs()
})

/** A lazy thenable (a query builder): each `then` runs the query again. */
function lazyQuery<T>(value: T, runs: { count: number }): PromiseLike<T> {
  return {
    // biome-ignore lint/suspicious/noThenProperty: a thenable is what this stands for
    then(onFulfilled, onRejected) {
      runs.count++
      return Promise.resolve(value).then(onFulfilled, onRejected)
    },
  }
}

const passThrough = { compute: <T>(_info: ComputeInfo, run: () => T) => run() }

describe('statistics on other paths', () => {
  it('a decorated method and a generator function count once per call', () => {
    const cache = createCache({ domainKey: 'LOCKIN', backend: new FullMapBackend(true) })
    class Prices {
      @cache.method('PRICE')
      price(sku: string): number {
        return sku.length
      }
    }
    const prices = new Prices()
    prices.price('ab')
    prices.price('ab')
    const numbers = cache.wrap('NUMBERS', function* (n: number) {
      yield n
      yield n + 1
    })
    expect([...numbers(1)]).toEqual([1, 2])
    expect([...numbers(1)]).toEqual([1, 2])
    const { functions } = cache.stats()
    expect(functions.PRICE).toMatchObject({ hits: 1, misses: 1, computations: 1 })
    expect(functions.NUMBERS).toMatchObject({ hits: 1, misses: 1, computations: 1 })
  })

  it('a soft-timeout answer is one miss and one stale answer; the computation goes on and counts once', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'LOCKIN', backend: new AsyncBytesBackend() })
    let slow = false
    const read = cache.wrap(
      'READ',
      async () => {
        if (slow) await new Promise((resolve) => setTimeout(resolve, 1000))
        return slow ? 'new' : 'old'
      },
      { ttl: 1, failSafe: 60, softTimeout: '100ms' },
    )
    expect(await read()).toBe('old')
    await vi.advanceTimersByTimeAsync(1500)
    slow = true
    const answer = read()
    await vi.advanceTimersByTimeAsync(150)
    expect(await answer).toBe('old')
    await vi.advanceTimersByTimeAsync(1000)
    expect(cache.stats().functions.READ).toMatchObject({ hits: 0, misses: 2, stale: 1, computations: 2 })
    await cache.close()
  })

  it('a read that fails under onError raise is one miss and one error, and computes nothing', async () => {
    const backend = new FullMapBackend(true)
    backend.getMany = () => {
      throw new Error('read failed')
    }
    const cache = createCache({ domainKey: 'LOCKIN', backend, onError: 'raise' })
    const id = cache.wrap('ID', (n: number) => n)
    expect(() => id(1)).toThrow()
    expect(cache.stats().functions.ID).toMatchObject({ misses: 1, computations: 0 })
    expect(cache.stats().errorsByOperation).toEqual({ getMany: 1 })
    await cache.close()
  })

  it('stats() still answers after close, and the closed cache counts nothing more', async () => {
    const cache = createCache({ domainKey: 'LOCKIN', backend: new FullMapBackend(false) })
    const id = cache.wrap('ID', (n: number) => n)
    id(1)
    await cache.close()
    expect(() => id(1)).toThrow()
    expect(cache.stats().functions.ID).toMatchObject({ hits: 0, misses: 1 })
  })
})

describe('the compute hook keeps calls as they were', () => {
  it('a synchronous function on a synchronous store stays synchronous through a hook, on a miss, a refresh and a failed read', () => {
    const backend = new FullMapBackend(true)
    const cache = createCache({ domainKey: 'LOCKIN', backend, instrumentation: passThrough })
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    expect(double(2)).toBe(4)
    expect(double.refresh(2)).toBe(4)
    backend.getMany = () => {
      throw new Error('read failed')
    }
    expect(double(3)).toBe(6)
  })

  it('the compute event fires before the result is stored, once per computation, never for a joined call', async () => {
    const order: string[] = []
    const cache = createCache({ domainKey: 'LOCKIN', backend: new AsyncBytesBackend() })
    cache.on('compute', () => order.push('compute'))
    cache.on('set', () => order.push('set'))
    const slow = cache.wrap('SLOW', async (n: number) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      return n
    })
    await Promise.all([slow(1), slow(1)])
    expect(order).toEqual(['compute', 'set'])
    await cache.close()
  })

  for (const [name, make] of [
    ['a synchronous store', () => new FullMapBackend(true)],
    ['an asynchronous store', () => new AsyncBytesBackend()],
  ] as const) {
    it(`a lazy thenable is subscribed to once, on ${name}, with and without a hook`, async () => {
      for (const instrumentation of [undefined, passThrough]) {
        const cache = createCache({ domainKey: 'LAZY', backend: make(), instrumentation })
        const runs = { count: 0 }
        const query = cache.wrap('Q', (n: number) => lazyQuery(n * 3, runs))
        expect(await query(1)).toBe(3)
        expect(await query(1)).toBe(3) // a hit
        expect(runs.count).toBe(1)
        expect(cache.stats().functions.Q).toMatchObject({ hits: 1, misses: 1, computations: 1 })
        await cache.close()
      }
    })
  }

  it('a lazy thenable computed after a failed read (onError silent) is subscribed to once and counted once', async () => {
    const backend = new FullMapBackend(true)
    backend.getMany = () => {
      throw new Error('read failed')
    }
    const cache = createCache({ domainKey: 'LAZY', backend, instrumentation: passThrough })
    const computed: CacheEvents['compute'][] = []
    cache.on('compute', (event) => computed.push(event))
    const runs = { count: 0 }
    const query = cache.wrap('Q', (n: number) => lazyQuery(n * 3, runs))
    expect(await query(1)).toBe(3)
    await new Promise((resolve) => setImmediate(resolve))
    expect(runs.count).toBe(1)
    expect(computed).toHaveLength(1)
    expect(cache.stats().functions.Q).toMatchObject({ misses: 1, computations: 1, failures: 0 })
    await cache.close()
  })
})

describe('setup by URL: what is right', () => {
  it.each([
    ['percent-encoded', 'redis://app:hunter2%40x@cache:6379'],
    ['an unencoded @', 'redis://app:hunter2@x@cache:6379'],
    ['user only (a token)', 'redis://hunter2@cache:6379'],
    ['IPv6 host', 'redis://app:hunter2@[::1]:6379/0'],
    ['cluster list', 'redis+cluster://app:hunter2@h1:7000,h2:7001'],
    ['uppercase scheme', 'REDIS://app:hunter2@cache'],
    ['an @ in the query too', 'redis://app:hunter2@cache/0?x=a@b'],
  ])('redactUrl hides the password: %s', (_name, url) => {
    expect(redactUrl(url)).not.toContain('hunter2')
    expect(redactUrl(url)).toContain('***')
  })

  it('RAPIDE_URL with surrounding whitespace opens its backend, owned by the cache', async () => {
    class ClosingBackend extends FullMapBackend {
      closed = 0
      close(): void {
        this.closed++
      }
    }
    let opened = 0
    registerBackendScheme('lockinenv', () => {
      opened++
      return new ClosingBackend(true)
    })
    vi.stubEnv('RAPIDE_URL', '  lockinenv://x \n')
    const cache = createCache({ domainKey: 'ENV' })
    expect(opened).toBe(1)
    await cache.close()
    expect((cache.backend as unknown as ClosingBackend).closed).toBe(1)
  })

  it('bad options are refused before the URL opens anything', () => {
    let opened = 0
    registerBackendScheme('lockinorder', () => {
      opened++
      return new FullMapBackend(true)
    })
    for (const bad of [
      { defaultTtl: 'soon' },
      { timeout: -1 },
      { sign: { key: '' } },
      { stats: 'yes' },
      { instrumentation: 42 },
      { keyPrefix: 7 },
      { nope: true },
    ]) {
      expect(() =>
        createCache({ domainKey: 'ORDER', backend: 'lockinorder://x', ...(bad as object) }),
      ).toThrow()
    }
    expect(opened).toBe(0)
  })

  it('readUrlOptions refuses empty values, signs, exponents, other spellings, other cases and __proto__', () => {
    const spec = { maxEntries: 'integer' } as const
    for (const query of [
      'maxEntries=',
      'maxEntries=%2B1',
      'maxEntries=1e3',
      'maxEntries=0x10',
      'maxEntries=%201',
      'MaxEntries=1',
      '__proto__=1',
      'maxEntries=1&maxEntries=2',
    ]) {
      expect(() => readUrlOptions(new URLSearchParams(query), spec, 'mem: URL')).toThrow(InvalidOptionError)
    }
    expect(() => readUrlOptions(new URLSearchParams('MaxEntries=1'), spec, 'mem: URL')).toThrow(
      /did you mean "maxEntries"/,
    )
  })
})
