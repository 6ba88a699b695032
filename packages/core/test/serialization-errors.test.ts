import { describe, expect, it } from 'vitest'
import {
  type CacheEvents,
  createCache,
  jsonSerializer,
  SerializationError,
  type Serializer,
  v8Serializer,
} from '../src/index.js'
import { AsyncBytesBackend } from './support/backends.js'

class Owner {
  constructor(readonly name: string) {}
  greet(): string {
    return `hi ${this.name}`
  }
}

function errorsOf(cache: { on: (event: 'error', listener: (e: CacheEvents['error']) => void) => unknown }) {
  const seen: CacheEvents['error'][] = []
  cache.on('error', (event) => seen.push(event))
  return seen
}

describe('key-value calls with a value the serializer cannot store', () => {
  it('set of a function rejects with SerializationError (not a raw DataCloneError)', async () => {
    const cache = createCache({ domainKey: 'KVSER', backend: new AsyncBytesBackend() })
    const failure = await cache
      .set('k', () => 1)
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    expect(failure).toBeInstanceOf(SerializationError)
    expect((failure as SerializationError).code).toBe('E_SERIALIZATION')
    expect((failure as SerializationError).message).toContain('cannot store value:')
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('set of a class instance (v8) or of -0 (JSON) rejects, and nothing is stored', async () => {
    const v8 = createCache({ domainKey: 'KVSER', backend: new AsyncBytesBackend() })
    await expect(v8.set('user', { owner: new Owner('Ada') })).rejects.toThrow(SerializationError)
    expect(await v8.get('user')).toBeUndefined()
    const json = createCache({
      domainKey: 'KVSER',
      backend: new AsyncBytesBackend(),
      serializer: jsonSerializer,
    })
    await expect(json.set('n', { n: -0 })).rejects.toThrow(/value\.n: it is -0/)
    expect(await json.get('n')).toBeUndefined()
    await v8.close()
    await json.close()
  })

  it('setMany with one unstorable value rejects and stores none of them', async () => {
    const cache = createCache({ domainKey: 'KVSER', backend: new AsyncBytesBackend() })
    await expect(cache.setMany({ a: 1, b: Symbol('no') })).rejects.toThrow(SerializationError)
    expect(await cache.get('a')).toBeUndefined()
    await cache.close()
  })

  it("a custom serializer's own error becomes a SerializationError with it as the cause", async () => {
    const cause = new Error('cannot encode this')
    const picky: Serializer = {
      name: 'picky',
      encode: (value) => {
        if (value === 'bad') throw cause
        return v8Serializer.encode(value)
      },
      decode: (bytes) => v8Serializer.decode(bytes),
    }
    const cache = createCache({ domainKey: 'KVSER', backend: new AsyncBytesBackend(), serializer: picky })
    const failure = await cache.set('k', 'bad').catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(SerializationError)
    expect((failure as SerializationError).cause).toBe(cause)
    await cache.set('k', 'good')
    expect(await cache.get('k')).toBe('good')
    await cache.close()
  })
})

describe('a cached function whose result cannot round-trip', () => {
  it('v8: a class instance is returned as computed, not stored, and reported; no hit serves a plain object', async () => {
    const cache = createCache({ domainKey: 'FNSER', backend: new AsyncBytesBackend() })
    const errors = errorsOf(cache)
    let calls = 0
    const load = cache.wrap('LOAD', async (name: string) => {
      calls++
      return new Owner(name)
    })
    const first = await load('Ada')
    expect(first).toBeInstanceOf(Owner)
    const second = await load('Ada')
    // Before: the second call was a hit that returned { name: 'Ada' } without greet().
    expect(second).toBeInstanceOf(Owner)
    expect(second.greet()).toBe('hi Ada')
    expect(calls).toBe(2)
    const encodeErrors = errors.filter((e) => e.operation === 'encode')
    expect(encodeErrors).toHaveLength(2)
    expect(encodeErrors[0]!.error).toBeInstanceOf(SerializationError)
    expect((encodeErrors[0]!.error as SerializationError).message).toContain('instance of Owner')
    await cache.close()
  })

  it('json: -0 and toJSON output are never served in place of the computed value', async () => {
    const cache = createCache({
      domainKey: 'FNSER',
      backend: new AsyncBytesBackend(),
      serializer: jsonSerializer,
    })
    const errors = errorsOf(cache)
    let calls = 0
    const signed = cache.wrap('SIGNED', async () => {
      calls++
      return { delta: -0 }
    })
    expect(Object.is((await signed()).delta, -0)).toBe(true)
    expect(Object.is((await signed()).delta, -0)).toBe(true)
    expect(calls).toBe(2)
    const priced = cache.wrap('PRICED', async () => ({
      price: {
        cents: 150,
        toJSON() {
          return '1.50'
        },
      },
    }))
    expect((await priced()).price.cents).toBe(150)
    expect((await priced()).price.cents).toBe(150)
    expect(errors.filter((e) => e.error instanceof SerializationError).length).toBe(4)
    await cache.close()
  })

  it('a storable result is still stored and served', async () => {
    const cache = createCache({ domainKey: 'FNSER', backend: new AsyncBytesBackend() })
    let calls = 0
    const load = cache.wrap('PLAIN', async (id: number) => {
      calls++
      return { id, at: new Date(0), tags: new Set(['a']) }
    })
    await load(1)
    expect(await load(1)).toStrictEqual({ id: 1, at: new Date(0), tags: new Set(['a']) })
    expect(calls).toBe(1)
    await cache.close()
  })
})
