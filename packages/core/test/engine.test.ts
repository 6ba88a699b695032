import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  BackendTimeoutError,
  type CacheEvents,
  ClosedError,
  createCache,
  IncompatibleBackendError,
  InvalidOptionError,
  InvalidTtlError,
  NotACounterError,
  NotSupportedError,
  RapideError,
  UnkeyableArgumentError,
} from '../src/index.js'
import { AsyncBytesBackend, SyncMapBackend } from './support/backends.js'

const events = <E extends keyof CacheEvents>(
  cache: { on: (e: E, l: (p: CacheEvents[E]) => void) => unknown },
  e: E,
) => {
  const seen: CacheEvents[E][] = []
  cache.on(e, (p) => seen.push(p))
  return seen
}

describe('types say what the runtime does', () => {
  it('sync stays sync on a synchronous backend; promises elsewhere', async () => {
    const sync = createCache({ domainKey: 'T', backend: SyncMapBackend })
    const double = sync.wrap('DOUBLE', (n: number) => n * 2)
    const load = sync.wrap('LOAD', async (n: number) => String(n))
    expectTypeOf(double).returns.toEqualTypeOf<number>()
    expectTypeOf(load).returns.toEqualTypeOf<Promise<string>>()
    expectTypeOf(double.invalidate).returns.toEqualTypeOf<void>()
    expectTypeOf(sync.get<string>('k')).toEqualTypeOf<string | undefined>()
    expect(double(2)).toBe(4)
    expect(await load(2)).toBe('2')

    const remote = createCache({ domainKey: 'T', backend: new AsyncBytesBackend() })
    const remoteDouble = remote.wrap('DOUBLE', (n: number) => n * 2)
    expectTypeOf(remoteDouble).returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf(remote.invalidateFunc('DOUBLE')).toEqualTypeOf<Promise<void>>()
    expect(remoteDouble(2)).toBeInstanceOf(Promise)
    expect(await remoteDouble(2)).toBe(4)
  })
})

describe('method decorator types', () => {
  it('on an asynchronous backend, only methods returning promises can be cached', async () => {
    const remote = createCache({ domainKey: 'TD', backend: new AsyncBytesBackend() })
    class Remote {
      @remote.method('ASYNC_OK')
      async ok(n: number): Promise<number> {
        return n * 2
      }

      // @ts-expect-error a synchronous method would silently start returning promises
      @remote.method('SYNC_REFUSED')
      refused(n: number): number {
        return n
      }
    }
    expect(await new Remote().ok(2)).toBe(4)
  })
})

describe('options are checked up front', () => {
  it('refuses bad createCache options with typed errors', () => {
    expect(() => createCache({ domainKey: '', backend: SyncMapBackend })).toThrow(InvalidOptionError)
    expect(() => createCache({ domainKey: 'D', backend: SyncMapBackend, onError: 'loud' as never })).toThrow(
      InvalidOptionError,
    )
    const notABackend = { specificationVersion: 2, name: 'future', capabilities: {} } as never
    expect(() => createCache({ domainKey: 'D', backend: notABackend })).toThrow(IncompatibleBackendError)
  })

  it('refuses conflicting key options', () => {
    const cache = createCache({ domainKey: 'D', backend: SyncMapBackend })
    expect(() => cache.wrap('A', (a: number) => a, { key: (a) => a, includeArgs: [0] })).toThrow(
      InvalidOptionError,
    )
    expect(() => cache.wrap('B', (a: number) => a, { includeArgs: [0], excludeArgs: [0] })).toThrow(
      InvalidOptionError,
    )
    expect(() => cache.wrap('C', (a: number) => a, { includeArgs: [-1] })).toThrow(InvalidOptionError)
    expect(() => cache.wrap('', (a: number) => a)).toThrow(InvalidOptionError)
  })
})

describe('keys', () => {
  it('every key is well-formed Unicode: lone surrogates are escaped in arguments, refused in names', () => {
    const cache = createCache({ domainKey: 'U', backend: SyncMapBackend })
    const seen = events(cache, 'miss')
    const echo = cache.wrap('ECHO', (s: string) => s)
    // A lone surrogate would become U+FFFD in UTF-8: the two must stay two calls.
    expect(echo('a\ud800')).toBe('a\ud800')
    expect(echo('a\ufffd')).toBe('a\ufffd')
    expect(echo('a\ud800')).toBe('a\ud800')
    expect(seen).toHaveLength(2)
    for (const event of seen) expect(event.key.isWellFormed()).toBe(true)
    expect(() => cache.set('bad\udc00', 1)).toThrow(InvalidOptionError)
    expect(() => cache.wrap('F\ud800', () => 1)).toThrow(InvalidOptionError)
    expect(() => createCache({ domainKey: 'D\udfff', backend: SyncMapBackend })).toThrow(InvalidOptionError)
  })

  it('a custom key function and argument selection decide what is cached together', () => {
    const cache = createCache({ domainKey: 'K', backend: SyncMapBackend })
    let calls = 0
    const byId = cache.wrap('BY_ID', (_user: { id: number; name: string }) => ++calls, { key: (u) => u.id })
    expect(byId({ id: 1, name: 'a' })).toBe(1)
    expect(byId({ id: 1, name: 'b' })).toBe(1)
    byId.invalidate({ id: 1, name: 'anything' })
    expect(byId({ id: 1, name: 'c' })).toBe(2)

    const skipLogger = cache.wrap('SKIP', (_n: number, _log: () => void) => ++calls, { excludeArgs: [1] })
    expect(skipLogger(1, () => {})).toBe(3)
    expect(skipLogger(1, () => {})).toBe(3)
    const onlyFirst = cache.wrap('ONLY', (_n: number, _noise: number) => ++calls, { includeArgs: [0] })
    expect(onlyFirst(1, 1)).toBe(4)
    expect(onlyFirst(1, 2)).toBe(4)
  })

  it('an unkeyable argument throws before anything is computed', () => {
    const cache = createCache({ domainKey: 'K2', backend: SyncMapBackend })
    let calls = 0
    const f = cache.wrap('F', (_cb: unknown) => ++calls)
    expect(() => f(() => 1)).toThrow(UnkeyableArgumentError)
    expect(calls).toBe(0)
  })

  it('long argument lists make short keys', () => {
    const cache = createCache({ domainKey: 'K3', backend: SyncMapBackend })
    const seen = events(cache, 'set')
    const f = cache.wrap('F', (...parts: string[]) => parts.length)
    f(...Array.from({ length: 200 }, (_, i) => `argument number ${i}`))
    f('x'.repeat(100_000))
    expect(seen).toHaveLength(2)
    for (const { key } of seen) expect(key.length).toBeLessThan(100)
    expect(seen[0]!.key).not.toBe(seen[1]!.key)
  })

  it('domain and function names cannot combine into each other’s keys', () => {
    const backend = new SyncMapBackend()
    const one = createCache({ domainKey: 'a:b', backend })
    const two = createCache({ domainKey: 'a', backend })
    one.wrap('c', () => 'one')()
    expect(two.wrap('b:c', () => 'two')()).toBe('two')
  })
})

describe('race-free invalidation under local coordination', () => {
  it('a synchronous function that invalidates its own result does not store it', () => {
    const cache = createCache({ domainKey: 'R', backend: SyncMapBackend })
    const discards = events(cache, 'discard')
    let version = 1
    const f = cache.wrap('F', (n: number): string => {
      const value = `${n}v${version}`
      version++
      cache.invalidateResult('F', n)
      return value
    })
    expect(f(1)).toBe('1v1')
    expect(discards).toHaveLength(1)
    expect(f(1)).toBe('1v2')
  })
})

describe('events', () => {
  it('reports hits, misses, stores and invalidations', () => {
    const cache = createCache({ domainKey: 'E', backend: SyncMapBackend })
    const log: string[] = []
    for (const name of ['hit', 'miss', 'set', 'invalidate'] as const) cache.on(name, () => log.push(name))
    const f = cache.wrap('F', (n: number) => n)
    f(1)
    f(1)
    f.invalidate(1)
    expect(log).toEqual(['miss', 'set', 'hit', 'invalidate'])
  })

  it('hit, miss and set name the same backend key, on local and shared coordination', async () => {
    for (const backend of [new SyncMapBackend(), new AsyncBytesBackend()]) {
      const cache = createCache({ domainKey: 'E3', backend })
      const keys: Record<string, string[]> = { hit: [], miss: [], set: [] }
      for (const name of ['hit', 'miss', 'set'] as const) cache.on(name, ({ key }) => keys[name]!.push(key))
      const f = cache.wrap('F', (n: number) => n)
      await f(7)
      await f(7)
      expect(keys.miss).toHaveLength(1)
      expect(keys.set).toEqual(keys.miss)
      expect(keys.hit).toEqual(keys.miss)
      expect(keys.hit![0]).toBe(backend instanceof SyncMapBackend ? '|E3:r:{F:1:n7' : '|E3:r:{F:1:n7}')
    }
  })

  it('a throwing listener never breaks a call', () => {
    const cache = createCache({ domainKey: 'E2', backend: SyncMapBackend })
    const off = cache.on('hit', () => {
      throw new Error('listener bug')
    })
    const f = cache.wrap('F', (n: number) => n)
    f(1)
    expect(f(1)).toBe(1)
    off()
  })
})

describe('invalidation cost', () => {
  /** Counts the backend operations an invalidation makes after `entries` results were cached. */
  async function operationsToInvalidate(entries: number, level: 'function' | 'domain'): Promise<number> {
    const backend = new AsyncBytesBackend()
    let operations = 0
    const counted = new Proxy(backend, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          operations++
          return value.apply(target, args)
        }
      },
    })
    const cache = createCache({ domainKey: `COST${entries}`, backend: counted })
    const f = cache.wrap('F', async (n: number) => n)
    for (let i = 0; i < entries; i++) await f(i)
    operations = 0
    await (level === 'function' ? cache.invalidateFunc('F') : cache.invalidateDomain())
    const spent = operations
    expect(await f(0)).toBe(0)
    return spent
  }

  it('function and domain invalidation are one backend write, whether 1 or 500 entries exist', async () => {
    for (const level of ['function', 'domain'] as const) {
      const few = await operationsToInvalidate(1, level)
      const many = await operationsToInvalidate(500, level)
      expect(few).toBe(1)
      expect(many).toBe(1)
    }
  })
})

describe('bounded failures', () => {
  it('a hanging backend costs at most the timeout, then the value is computed (silent)', async () => {
    const backend = new AsyncBytesBackend()
    backend.hang = true
    const cache = createCache({ domainKey: 'B', backend, timeout: '50ms' })
    const errors = events(cache, 'error')
    const f = cache.wrap('F', async (n: number) => n + 1)
    const started = performance.now()
    expect(await f(1)).toBe(2)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(errors[0]!.error).toBeInstanceOf(BackendTimeoutError)
  })

  it('raise: a hanging backend becomes a typed timeout error; invalidation always raises', async () => {
    const backend = new AsyncBytesBackend()
    backend.hang = true
    const cache = createCache({ domainKey: 'B2', backend, timeout: '50ms', onError: 'raise' })
    const f = cache.wrap('F', async (n: number) => n + 1)
    await expect(f(1)).rejects.toBeInstanceOf(BackendTimeoutError)
    const silent = createCache({ domainKey: 'B3', backend, timeout: '50ms' })
    await expect(silent.invalidateFunc('F')).rejects.toBeInstanceOf(RapideError)
    await expect(silent.get('k')).rejects.toBeInstanceOf(BackendTimeoutError)
  })

  it('a backend that bounds its own operations (operationTimeoutMs) gets no second timer, unless its bound is longer', async () => {
    // This backend's own bound is its only one: it fails operations after 30 ms with its own error.
    class SelfBounded extends AsyncBytesBackend {
      constructor(readonly operationTimeoutMs: number) {
        super()
      }
      override get(): Promise<Uint8Array | undefined> {
        return new Promise((_, reject) => setTimeout(() => reject(new Error('own bound')), 30))
      }
    }
    const trusted = createCache({
      domainKey: 'SB',
      backend: new SelfBounded(30),
      timeout: '10ms',
      onError: 'raise',
    })
    // Its bound (30 ms) is longer than the cache's (10 ms): the cache's timer still applies.
    await expect(trusted.get('k')).rejects.toBeInstanceOf(BackendTimeoutError)
    const own = createCache({
      domainKey: 'SB',
      backend: new SelfBounded(30),
      timeout: '1s',
      onError: 'raise',
    })
    await expect(own.get('k')).rejects.toThrow('own bound')
  })
})

describe('lifecycle', () => {
  it('a closed cache refuses calls with a typed error and frees its function keys', async () => {
    const backend = new SyncMapBackend()
    const cache = createCache({ domainKey: 'L', backend })
    const f = cache.wrap('F', (n: number) => n)
    await cache.close()
    expect(() => f(1)).toThrow(ClosedError)
    const again = createCache({ domainKey: 'L', backend })
    expect(again.wrap('F', (n: number) => n * 2)(2)).toBe(4)
  })

  it('close waits for running computations to store their results', async () => {
    const backend = new AsyncBytesBackend()
    const cache = createCache({ domainKey: 'LW', backend })
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const slow = cache.wrap('SLOW', async (n: number) => {
      await gate
      return n * 10
    })
    const running = slow(1)
    await new Promise((r) => setTimeout(r, 5))
    let closed = false
    const closing = cache.close().then(() => {
      closed = true
    })
    await new Promise((r) => setTimeout(r, 5))
    expect(closed).toBe(false)
    release()
    await closing
    expect(await running).toBe(10)
    const reopened = createCache({ domainKey: 'LW', backend })
    let calls = 0
    const again = reopened.wrap('SLOW', async (n: number) => {
      calls++
      return n
    })
    expect(await again(1)).toBe(10)
    expect(calls).toBe(0)
  })

  it('key-value input is checked: integer increments, valid TTLs', () => {
    const cache = createCache({ domainKey: 'KVI', backend: SyncMapBackend })
    expect(() => cache.incr('n', 1.5)).toThrow(InvalidOptionError)
    expect(() => cache.set('k', 1, { ttl: -1 })).toThrow(InvalidTtlError)
    expect(() => cache.lock('l', { ttl: '1 minute' as never })).toThrow(InvalidTtlError)
    cache.set('text', 'abc')
    expect(() => cache.incr('text')).toThrow(NotACounterError)
    expect(cache.incr('n', 2)).toBe(2)
  })

  it('key-value operations that need atomicity refuse to run unsafely on shared backends', async () => {
    const cache = createCache({ domainKey: 'KV', backend: new AsyncBytesBackend() })
    // Typed to return promises on an asynchronous backend: they reject, never throw synchronously.
    await expect(cache.incr('n')).rejects.toThrow(NotSupportedError)
    await expect(cache.lock('l', { ttl: 1 })).rejects.toThrow(NotSupportedError)
    await expect(cache.deletePattern('*')).rejects.toThrow(NotSupportedError)
  })
})
