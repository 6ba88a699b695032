import { describe, expect, it } from 'vitest'
import { createCache, RapideError } from '../src/index.js'
import { AsyncBytesBackend, SharedStoreBackend, SyncMapBackend } from './support/backends.js'

describe('calls typed to return a promise never throw synchronously', () => {
  it('an unkeyable argument, a closed cache and an unsupported operation reject on an async backend', async () => {
    const cache = createCache({ domainKey: 'P', backend: new AsyncBytesBackend() })
    const f = cache.wrap('F', (x: unknown) => x)
    const g = cache.wrap('G', async (x: unknown) => x)
    const calls: (() => unknown)[] = [
      () => f(() => 1),
      () => g(Symbol('s')),
      () => f.refresh(() => 1),
      () => f.invalidate(() => 1),
      () => cache.invalidateResult('F', () => 1),
      () => cache.incr('n'), // no atomic incr on a shared store
      () => cache.setNx('k', 1),
      () => cache.deletePattern('a*'), // cannot list keys
      () => cache.get('k', { versoin: 2 } as never),
    ]
    for (const call of calls) {
      let result: unknown
      expect(() => {
        result = call()
      }).not.toThrow()
      expect(result).toBeInstanceOf(Promise)
      await expect(result).rejects.toSatisfy(RapideError.isInstance)
    }
    await cache.close()
    let closed: unknown
    expect(() => {
      closed = f(1)
    }).not.toThrow()
    await expect(closed).rejects.toMatchObject({ code: 'E_CLOSED' })
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'E_CLOSED' })
  })

  it('an async function rejects on a synchronous backend too; a sync function there still throws', async () => {
    const cache = createCache({ domainKey: 'P', backend: new SyncMapBackend() })
    const g = cache.wrap('G', async (x: unknown) => x)
    let result: unknown
    expect(() => {
      result = g(() => 1)
    }).not.toThrow()
    await expect(result).rejects.toMatchObject({ code: 'E_UNKEYABLE_ARGUMENT' })
    const f = cache.wrap('F', (x: unknown) => x)
    expect(() => f(() => 1)).toThrow(expect.objectContaining({ code: 'E_UNKEYABLE_ARGUMENT' }))
  })
})

describe('unknown options are refused, naming the option', () => {
  it('createCache, wrap, the lock option and key-value calls', () => {
    const backend = new SyncMapBackend()
    expect(() => createCache({ domainKey: 'O', backend, defaultTll: 5 } as never)).toThrow(
      /unknown option "defaultTll" \(did you mean "defaultTtl"\?\)/,
    )
    const cache = createCache({ domainKey: 'O', backend })
    expect(() => cache.wrap('F', (n: number) => n, { tll: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: expect.stringContaining('"tll"') }),
    )
    expect(() => cache.wrap('G', (n: number) => n, { lock: { ttl: 1, wiat: 2 } } as never)).toThrow(/"wiat"/)
    expect(() => cache.set('k', 1, { tll: 5 } as never)).toThrow(/"tll".*did you mean "ttl"/)
    expect(() => cache.get('k', { ttl: 5 } as never)).toThrow(/unknown option "ttl"/)
    expect(() => cache.lock('l', { ttl: 1, wait: 1 } as never)).toThrow(/"wait"/)
    expect(() => cache.deletePattern('*', { prefix: 'x' } as never)).toThrow(/"prefix"/)
    // Known options still work.
    cache.set('k', 1, { ttl: 5, version: 2 })
    expect(cache.get('k', { version: 2 })).toBe(1)
  })
})

describe('a wrapped prototype method keeps `this`', () => {
  it('works like the decorator: the instance is passed on and left out of the key', () => {
    const cache = createCache({ domainKey: 'T', backend: new SyncMapBackend() })
    class Account {
      constructor(readonly rate: number) {}
      fee(amount: number): number {
        return amount * this.rate
      }
    }
    Account.prototype.fee = cache.wrap('FEE', Account.prototype.fee)
    expect(new Account(2).fee(10)).toBe(20)
    // Left out of the key: another instance is served the cached result (as documented for methods).
    expect(new Account(3).fee(10)).toBe(20)
    // Keyed on the arguments only, as documented for methods: `keyThis` keys on the instance.
    const keyed = createCache({ domainKey: 'T2', backend: new SyncMapBackend() })
    class Tenant {
      constructor(readonly id: string) {}
      label(n: number): string {
        return `${this.id}-${n}`
      }
    }
    Tenant.prototype.label = keyed.wrap('LABEL', Tenant.prototype.label, { keyThis: (t) => (t as Tenant).id })
    expect(new Tenant('a').label(1)).toBe('a-1')
    expect(new Tenant('b').label(1)).toBe('b-1')
  })
})

describe('duplicate function keys are detected per store', () => {
  class SameStore extends SharedStoreBackend {
    readonly storeId = 'test://one-store'
  }
  it('two backend instances over one store cannot both wrap a function key of one domain', async () => {
    const store = new Map()
    const a = createCache({ domainKey: 'D', backend: new SameStore(store) })
    const b = createCache({ domainKey: 'D', backend: new SameStore(store) })
    a.wrap('F', async () => 1)
    expect(() => b.wrap('F', async () => 2)).toThrow(
      expect.objectContaining({ code: 'E_DUPLICATE_FUNCTION_KEY' }),
    )
    // Another domain, or the same key after the first cache closed, is fine.
    createCache({ domainKey: 'E', backend: new SameStore(store) }).wrap('F', async () => 3)
    await a.close()
    expect(() => b.wrap('F', async () => 2)).not.toThrow()
  })
})

describe('namespaces are unambiguous', () => {
  it('("ab", "c") and ("a", "bc") never share results', () => {
    const backend = new SyncMapBackend()
    const one = createCache({ domainKey: 'c', keyPrefix: 'ab', backend })
    const two = createCache({ domainKey: 'bc', keyPrefix: 'a', backend })
    const f1 = one.wrap('F', (n: number) => `one-${n}`)
    const f2 = two.wrap('F', (n: number) => `two-${n}`)
    expect(f1(1)).toBe('one-1')
    expect(f2(1)).toBe('two-1')
    one.set('k', 'one')
    expect(two.get('k')).toBeUndefined()
  })

  it('clear() of a domain never touches what another keyPrefix stores', () => {
    const backend = new SyncMapBackend()
    const plain = createCache({ domainKey: 'myapp', backend })
    const prefixed = createCache({ domainKey: 'X', keyPrefix: 'myapp:', backend })
    prefixed.set('kept', 1)
    const kept = prefixed.wrap('F', (n: number) => n)
    kept(1)
    plain.set('dropped', 1)
    expect(plain.clear()).toBe(1)
    expect(prefixed.get('kept')).toBe(1)
    expect(backend.data.size).toBeGreaterThan(1)
    for (const key of backend.data.keys()) expect(key.startsWith('myapp:|X:')).toBe(true)
  })
})

describe('single-flight for synchronous functions on asynchronous backends', () => {
  it('20 concurrent calls compute once', async () => {
    const cache = createCache({ domainKey: 'SF', backend: new AsyncBytesBackend() })
    let calls = 0
    const f = cache.wrap('F', (n: number) => {
      calls++
      return n * 2
    })
    const results = await Promise.all(Array.from({ length: 20 }, () => f(21)))
    expect(results).toEqual(Array(20).fill(42))
    expect(calls).toBe(1)
  })
})

describe('invalidateDomain() is about cached results, as documented', () => {
  for (const [name, make] of [
    ['local', () => new SyncMapBackend()],
    ['shared', () => new SharedStoreBackend(new Map())],
  ] as const) {
    it(`key-value data and locks stay (${name})`, async () => {
      const backend = make()
      const cache = createCache({ domainKey: 'ID', backend })
      let calls = 0
      const f = cache.wrap('F', async (n: number) => {
        calls++
        return n
      })
      await f(1)
      await cache.set('kv', 'kept')
      const token = await cache.lock('job', { ttl: 60 })
      expect(token).toBeDefined()
      await cache.invalidateDomain()
      await f(1)
      expect(calls).toBe(2)
      expect(await cache.get('kv')).toBe('kept')
      expect(await cache.isLocked('job')).toBe(true)
    })
  }
})

describe('clear() removes everything the domain holds', () => {
  it('results, key-value data and locks', () => {
    const cache = createCache({ domainKey: 'CL', backend: new SyncMapBackend() })
    const f = cache.wrap('F', (n: number) => n)
    f(1)
    cache.set('kv', 1)
    cache.lock('job', { ttl: 60 })
    expect(cache.clear()).toBeGreaterThanOrEqual(3)
    expect(cache.get('kv')).toBeUndefined()
    expect(cache.isLocked('job')).toBe(false)
  })
})
