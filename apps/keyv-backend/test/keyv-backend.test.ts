import {
  ClosedError,
  CounterOverflowError,
  createCache,
  describeBackend,
  NotACounterError,
} from '@rapide/core'
import { createKeyv, Keyv } from 'keyv'
import { describe, expect, it } from 'vitest'
import { KeyvBackend } from '../src/index.js'
import { SlowAsyncStore } from './fixtures.js'

const bytes = (text: string) => new Uint8Array(Buffer.from(text))
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : Buffer.from(value).toString()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('KeyvBackend', () => {
  it('unlocks every feature of the cache: nothing is refused, only the speed-only accelerations are emulated', () => {
    const rows = describeBackend(new KeyvBackend())
    expect(rows.filter((row) => row.status === 'refused')).toEqual([])
    expect(rows.filter((row) => row.status === 'emulated').flatMap((row) => row.needs)).toEqual([
      'accelerations().reclaimPrefix',
      'accelerations().setGuarded',
    ])
  })

  it('works over a Keyv without serialization and over an asynchronous store Keyv bridges', async () => {
    for (const keyv of [createKeyv(new Map()), new Keyv({ store: new SlowAsyncStore() })]) {
      const backend = new KeyvBackend({ keyv })
      await backend.set('a', bytes('one'), undefined)
      await backend.setMany([{ key: 'b', value: bytes('two'), ttlMs: 20 }])
      expect((await backend.getMany(['a', 'b', 'c'])).map(text)).toEqual(['one', 'two', undefined])
      expect(await backend.incr('n', 2, undefined)).toBe(2)
      expect((await backend.keys('')).sort()).toEqual(['a', 'b', 'n'])
      await sleep(40)
      expect(await backend.get('b')).toBeUndefined()
      expect(await backend.deletePrefix('')).toBe(2)
    }
  })

  it('atomics do not interleave with other operations on the key, even over a slow store', async () => {
    const backend = new KeyvBackend({ keyv: new Keyv({ store: new SlowAsyncStore() }) })
    const counts = await Promise.all(Array.from({ length: 30 }, () => backend.incr('n', 1, undefined)))
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => backend.setNx('k', bytes(`${i}`), undefined)),
    )
    expect(claims.filter(Boolean)).toHaveLength(1)
  })

  it('a reader sees all of a setMany or none of it', async () => {
    const backend = new KeyvBackend({ keyv: new Keyv({ store: new SlowAsyncStore() }) })
    await backend.setMany([
      { key: 'a', value: bytes('old'), ttlMs: undefined },
      { key: 'b', value: bytes('old'), ttlMs: undefined },
    ])
    const write = backend.setMany([
      { key: 'a', value: bytes('new'), ttlMs: undefined },
      { key: 'b', value: bytes('new'), ttlMs: undefined },
    ])
    const reads = [backend.getMany(['a', 'b']), backend.getMany(['b', 'a'])]
    await write
    for (const read of await Promise.all(reads)) expect(new Set(read.map(text)).size).toBe(1)
  })

  it('incr keeps an existing counter’s expiry, refuses non-counters and the unsafe range', async () => {
    const backend = new KeyvBackend()
    expect(await backend.incr('n', 1, 30)).toBe(1)
    expect(await backend.incr('n', 1, undefined)).toBe(2)
    await sleep(50)
    expect(await backend.get('n')).toBeUndefined()
    await backend.set('t', bytes('text'), undefined)
    await expect(backend.incr('t', 1, undefined)).rejects.toBeInstanceOf(NotACounterError)
    await backend.set('m', bytes(String(Number.MAX_SAFE_INTEGER)), undefined)
    await expect(backend.incr('m', 1, undefined)).rejects.toBeInstanceOf(CounterOverflowError)
    expect(text(await backend.get('m'))).toBe(String(Number.MAX_SAFE_INTEGER))
  })

  it('a failing store rejects (where Keyv’s own get would answer undefined)', async () => {
    const store = new SlowAsyncStore()
    const keyv = new Keyv({ store })
    keyv.on('error', () => undefined)
    const backend = new KeyvBackend({ keyv })
    store.failing = true
    expect(await keyv.get('a')).toBeUndefined()
    await expect(backend.get('a')).rejects.toThrow('store unavailable')
    await expect(backend.set('a', bytes('v'), undefined)).rejects.toThrow('store unavailable')
    await expect(backend.delete('a')).rejects.toThrow('store unavailable')
  })

  it('the Keyv’s default ttl does not apply: undefined means no expiry', async () => {
    const backend = new KeyvBackend({ keyv: new Keyv({ ttl: 10 }) })
    await backend.set('a', bytes('v'), undefined)
    await sleep(30)
    expect(text(await backend.get('a'))).toBe('v')
  })

  it('a Keyv namespace is a separate store within a shared Map', async () => {
    const map = new Map()
    const one = new KeyvBackend({ keyv: new Keyv({ store: map, namespace: 'one' }) })
    const two = new KeyvBackend({ keyv: new Keyv({ store: map, namespace: 'two' }) })
    await one.set('k', bytes('1'), undefined)
    await two.set('k', bytes('2'), undefined)
    expect(await one.keys('')).toEqual(['k'])
    expect(await one.deletePrefix('')).toBe(1)
    expect(text(await two.get('k'))).toBe('2')
  })

  it('a value another program wrote is refused, not misread, and can still be deleted', async () => {
    const keyv = new Keyv()
    const backend = new KeyvBackend({ keyv })
    await keyv.set('k', { not: 'ours' })
    await expect(backend.get('k')).rejects.toThrow('did not write')
    expect(await backend.setNx('k', bytes('v'), undefined)).toBe(false)
    expect(await backend.delete('k')).toBe(true)
  })

  it('refuses a store that cannot list keys, and unknown options', () => {
    const unlisted = {
      get: () => undefined,
      set: () => true,
      delete: () => true,
      clear: () => {},
      has: () => false,
    }
    expect(() => new KeyvBackend({ keyv: new Keyv({ store: unlisted }) })).toThrow('cannot list its keys')
    expect(() => new KeyvBackend({ persistant: true } as never)).toThrow('did you mean "persistent"')
  })

  it('after close() every operation rejects; a Keyv passed in stays connected', async () => {
    const keyv = new Keyv()
    const backend = new KeyvBackend({ keyv })
    await backend.close()
    await backend.close()
    for (const call of [
      () => backend.get('a'),
      () => backend.set('a', bytes('v'), undefined),
      () => backend.delete('a'),
      () => backend.getMany(['a']),
      () => backend.setMany([]),
      () => backend.deleteMany(['a']),
      () => backend.setNx('a', bytes('v'), undefined),
      () => backend.deleteIfEquals('a', bytes('v')),
      () => backend.incr('a', 1, undefined),
      () => backend.expire('a', undefined),
      () => backend.keys(''),
      () => backend.deletePrefix(''),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(ClosedError)
    }
    expect(await keyv.set('still', 'usable')).toBe(true)
  })

  it('caches a function end to end', async () => {
    const cache = createCache({ domainKey: 'SHOP', backend: KeyvBackend })
    let computed = 0
    const price = cache.wrap('PRICE', async (sku: string) => {
      computed++
      return sku.length
    })
    expect(await price('A-1')).toBe(3)
    expect(await price('A-1')).toBe(3)
    expect(computed).toBe(1)
    await cache.deletePattern('*')
    await cache.close()
  })
})
