import { type AnyBackend, createCache, NotSupportedError, RapideError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, uniqueName } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/** The key-value API: reads, writes, batches, versions, counters and `deletePattern`. */
export function keyValueTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const { cacheOn, newCache } = engineContext(harness, placement)

  describe('key-value', () => {
    it('key-value: get, set, setNx, getMany, setMany, delete, deleteMany', async () => {
      const cache = newCache()
      expect(await cache.get('missing')).toBeUndefined()
      await cache.set('a', { n: 1 })
      expect(await cache.get('a')).toEqual({ n: 1 })
      if (kit.atomics) {
        expect(await cache.setNx('a', 'other')).toBe(false)
        expect(await cache.setNx('fresh', 'value')).toBe(true)
      }
      if (kit.batchWrites) await cache.setMany({ b: 2, c: new Date(0) })
      else {
        // Without an atomic setMany, a batch of several entries is refused (a loop would not be atomic);
        // one entry is a plain write.
        await expect(async () => cache.setMany({ b: 2, c: new Date(0) })).rejects.toThrow(NotSupportedError)
        await cache.setMany({ b: 2 })
        await cache.set('c', new Date(0))
      }
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

    it.skipIf(!kit.atomics)('key-value: incr is exact under concurrency', async () => {
      const cache = newCache()
      await Promise.all(Array.from({ length: 50 }, () => cache.incr('counter')))
      expect(await cache.incr('counter', 10)).toBe(60)
      expect(await cache.get('counter')).toBe(60)
      await cache.set('text', 'abc')
      await expect(async () => cache.incr('text')).rejects.toThrow(RapideError)
    })

    it.skipIf(!kit.listing)('key-value: deletePattern matches globs within this cache only', async () => {
      const backend = harness.backend()
      const cache = cacheOn(backend)
      const neighbour = cacheOn(backend)
      const entries = { 'user:1': 1, 'user:2': 2, 'user*x': 3, 'post:1': 4, 'us[er]:9': 5 }
      if (kit.batchWrites) await cache.setMany(entries)
      else for (const [key, value] of Object.entries(entries)) await cache.set(key, value)
      await neighbour.set('user:1', 'keep')
      expect(await cache.deletePattern('user:*')).toBe(2)
      expect(await cache.get('post:1')).toBe(4)
      expect(await cache.get('user*x')).toBe(3)
      expect(await cache.deletePattern('user\\*x')).toBe(1)
      expect(await cache.deletePattern('us\\[er\\]:?')).toBe(1)
      expect(await neighbour.get('user:1')).toBe('keep')
    })
  })
}
