import { crc32 } from 'node:zlib'
import { type AnyBackend, createCache, jsonSerializer, RapideError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, uniqueName } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/**
 * Values: rich values round-trip through the backend, `undefined` and `null` are cached results, a
 * corrupted entry is a reported miss, and the JSON serializer refuses what it would not round-trip.
 */
export function valueTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const { cacheOn, newCache } = engineContext(harness, placement)

  describe('values', () => {
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

    it.skipIf(kit.inProcessValues)('a corrupted entry is a reported miss, never a crash', async () => {
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

    it.skipIf(kit.inProcessValues)(
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
