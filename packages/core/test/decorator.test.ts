import { describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'
import { SyncMapBackend } from './support/backends.js'

describe('cache.method (standard decorator)', () => {
  it('caches a method and leaves `this` out of the key by default', () => {
    const cache = createCache({ domainKey: 'DECORATOR', backend: new SyncMapBackend() })
    let calls = 0
    class Prices {
      constructor(readonly factor: number) {}
      @cache.method('PRICE_OF')
      priceOf(sku: string): number {
        calls++
        return sku.length * this.factor
      }
    }
    const a = new Prices(10)
    const b = new Prices(20)
    expect(a.priceOf('abc')).toBe(30)
    expect(a.priceOf('abc')).toBe(30)
    // `this` is not in the key: another instance shares the result, as with the seed's `self`.
    expect(b.priceOf('abc')).toBe(30)
    expect(calls).toBe(1)
    cache.invalidateResult('PRICE_OF', 'abc')
    expect(b.priceOf('abc')).toBe(60)
  })

  it('keys on the instance when asked', () => {
    const cache = createCache({ domainKey: 'DECORATOR_THIS', backend: new SyncMapBackend() })
    let calls = 0
    class Tenant {
      constructor(readonly id: string) {}
      @cache.method('TENANT_NAME', { keyThis: (self) => (self as Tenant).id })
      name(suffix: string): string {
        calls++
        return `${this.id}${suffix}`
      }
    }
    expect(new Tenant('a').name('!')).toBe('a!')
    expect(new Tenant('b').name('!')).toBe('b!')
    expect(new Tenant('a').name('!')).toBe('a!')
    expect(calls).toBe(2)
    cache.invalidateResultFor(new Tenant('a'), 'TENANT_NAME', '!')
    expect(new Tenant('a').name('!')).toBe('a!')
    expect(new Tenant('b').name('!')).toBe('b!')
    expect(calls).toBe(3)
  })
})
