import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  type CacheEvents,
  CorruptEntryError,
  createCache,
  jsonSerializer,
  type Serializer,
  v8Serializer,
} from '../src/index.js'
import { decodeEnvelope, encodeEnvelope } from '../src/serialization/envelope.js'
import { AsyncBytesBackend } from './support/backends.js'

/** Entries of the shapes a cache stores: results with stamps, key-value values, both serializers. */
const samples: { serializer: Serializer; value: unknown; stamp: string; async: boolean }[] = [
  { serializer: v8Serializer, value: 1, stamp: '', async: false },
  { serializer: v8Serializer, value: 'a', stamp: 'g1.g2', async: true },
  { serializer: v8Serializer, value: [true, false, 0, 1, 255, -1], stamp: '7', async: false },
  {
    serializer: v8Serializer,
    value: {
      id: 42,
      name: 'Ada Lovelace',
      tags: ['admin', 'author'],
      createdAt: new Date(0),
      m: new Map([[1, 2n]]),
      bytes: Buffer.from([0, 1, 2]),
    },
    stamp: 'k3j.9x.q',
    async: true,
  },
  {
    serializer: jsonSerializer,
    value: { id: 42, name: 'Ada', list: [1, 'two', null] },
    stamp: '',
    async: false,
  },
  { serializer: jsonSerializer, value: 12345, stamp: 'a.b', async: true },
]

const FLIPS = [0x01, 0x02, 0x04, 0x10, 0x40, 0x80, 0x0f, 0xff]

/** Decodes `input` and says what happened: a corrupt-entry refusal, or the decoded envelope. */
function attempt(serializer: Serializer, input: Uint8Array) {
  try {
    return { decoded: decodeEnvelope(serializer, input) }
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptEntryError)
    expect((error as CorruptEntryError).code).toBe('E_CORRUPT_ENTRY')
    return { refused: true }
  }
}

describe('entry checksum', () => {
  it('every single-byte corruption of an entry is refused, never decoded to another value', () => {
    let tried = 0
    for (const [{ serializer, value, stamp, async }, timing] of samples.flatMap(
      (sample) =>
        [
          [sample, undefined],
          [sample, { storedAt: 1_790_000_000_123, computeMs: 12.5 }],
        ] as const,
    )) {
      const entry = encodeEnvelope(serializer, value, stamp, async, timing)
      expect(decodeEnvelope(serializer, entry)).toStrictEqual({
        value,
        stamp,
        async,
        storedAt: timing?.storedAt ?? 0,
        computeMs: timing?.computeMs ?? 0,
      })
      for (let at = 0; at < entry.length; at++) {
        for (const mask of FLIPS) {
          const corrupted = Buffer.from(entry)
          corrupted[at]! ^= mask
          expect(attempt(serializer, corrupted), `byte ${at} ^ ${mask} of ${JSON.stringify(stamp)}`).toEqual({
            refused: true,
          })
          tried++
        }
      }
    }
    expect(tried).toBeGreaterThan(1000)
  })

  it('a truncated or extended entry is refused', () => {
    for (const { serializer, value, stamp, async } of samples) {
      const entry = encodeEnvelope(serializer, value, stamp, async)
      for (let cut = 0; cut < entry.length; cut++) {
        expect(attempt(serializer, entry.subarray(0, cut)), `cut at ${cut}`).toEqual({ refused: true })
      }
      for (const tail of [[0], [0, 0, 0, 0], [1, 2, 3], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]) {
        const extended = Buffer.concat([entry, Buffer.from(tail)])
        expect(attempt(serializer, extended), `extended by ${tail}`).toEqual({ refused: true })
      }
      // Two entries glued together, or an entry with its first bytes dropped.
      expect(attempt(serializer, Buffer.concat([entry, entry]))).toEqual({ refused: true })
      expect(attempt(serializer, entry.subarray(1))).toEqual({ refused: true })
    }
  })

  it('the checksum covers the header: a stamp, flag or serializer name changed and re-framed is refused', () => {
    const entry = encodeEnvelope(v8Serializer, { n: 1 }, 'gen1', false)
    const other = encodeEnvelope(v8Serializer, { n: 1 }, 'gen2', false)
    // The header of one (stamp gen2) in front of the payload and checksum of the other.
    const headerEnd = 4 + entry.readUInt16BE(2)
    expect(other.subarray(0, headerEnd).toString('latin1')).toContain('gen2')
    const spliced = Buffer.concat([other.subarray(0, headerEnd), entry.subarray(headerEnd)])
    expect(attempt(v8Serializer, spliced)).toEqual({ refused: true })
    const flagged = Buffer.from(entry)
    flagged[1] = 1
    expect(attempt(v8Serializer, flagged)).toEqual({ refused: true })
  })

  it('stores a standard CRC-32 of everything before it, so other tools can verify entries', () => {
    const entry = encodeEnvelope(v8Serializer, { n: 1 }, 's', true)
    const body = entry.subarray(0, entry.length - 4)
    expect(entry.readUInt32LE(entry.length - 4)).toBe(crc32(body))
  })

  it('an entry in the format before checksums is a miss, not read unchecked', () => {
    // The previous layout: 0xF1 | flags | header length | header | payload, no checksum.
    const payload = v8Serializer.encode({ n: 1 })
    const header = Buffer.from('v8\n')
    const old = Buffer.concat([Buffer.from([0xf1, 0, 0, header.length]), header, payload])
    expect(() => decodeEnvelope(v8Serializer, old)).toThrow(CorruptEntryError)
    expect(() => decodeEnvelope(v8Serializer, old)).toThrow(/before checksums/)
  })

  it('a corrupted stored result is a reported miss: the cache recomputes and reports E_CORRUPT_ENTRY', async () => {
    const backend = new AsyncBytesBackend()
    const cache = createCache({ domainKey: 'CRC', backend })
    const errors: CacheEvents['error'][] = []
    cache.on('error', (event) => errors.push(event))
    let calls = 0
    const load = cache.wrap('LOAD', async (id: number) => {
      calls++
      return { id, name: 'Ada', score: 12 }
    })
    expect(await load(1)).toEqual({ id: 1, name: 'Ada', score: 12 })
    expect(await load(1)).toEqual({ id: 1, name: 'Ada', score: 12 })
    expect(calls).toBe(1)
    // Change one byte in the payload of the stored result (our format: first byte 0xF2). Before
    // checksums, this change decoded to { name: 'Adb' } and was served.
    let flipped = 0
    for (const entry of backend.data.values()) {
      if (entry.value[0] !== 0xf2) continue
      const copy = Buffer.from(entry.value)
      const at = copy.indexOf('Ada')
      expect(at).toBeGreaterThan(0)
      copy[at + 2] = 'b'.charCodeAt(0)
      entry.value = copy
      flipped++
    }
    expect(flipped).toBe(1)
    expect(await load(1)).toEqual({ id: 1, name: 'Ada', score: 12 })
    expect(calls).toBe(2)
    const decodeErrors = errors.filter((e) => e.operation === 'decode')
    expect(decodeErrors).toHaveLength(1)
    expect(decodeErrors[0]!.error).toBeInstanceOf(CorruptEntryError)
    expect((decodeErrors[0]!.error as CorruptEntryError).code).toBe('E_CORRUPT_ENTRY')
    await cache.close()
  })

  it('a corrupted key-value entry reads as a miss and is reported', async () => {
    const backend = new AsyncBytesBackend()
    const cache = createCache({ domainKey: 'CRCKV', backend })
    const errors: unknown[] = []
    cache.on('error', ({ error }) => errors.push(error))
    await cache.set('k', { n: 5 })
    expect(await cache.get('k')).toEqual({ n: 5 })
    for (const entry of backend.data.values()) {
      if (entry.value[0] !== 0xf2) continue
      const copy = Buffer.from(entry.value)
      copy[copy.length - 6]! ^= 0x01
      entry.value = copy
    }
    expect(await cache.get('k')).toBeUndefined()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(CorruptEntryError)
    await cache.close()
  })
})
