import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CorruptEntryError, jsonSerializer, SerializationError, v8Serializer } from '../src/index.js'
import { decodeEnvelope, encodeEnvelope } from '../src/serialization/envelope.js'

const rich = fc.anything({
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: false,
  withBoxedValues: false,
  withObjectString: true,
  maxDepth: 4,
})

describe('v8Serializer', () => {
  it('round-trips rich values exactly', () => {
    fc.assert(
      fc.property(rich, (value) => {
        expect(v8Serializer.decode(v8Serializer.encode(value))).toStrictEqual(value)
      }),
      { numRuns: 1000 },
    )
  })

  it('round-trips through the entry envelope, keeping stamp and async flag', () => {
    fc.assert(
      fc.property(rich, fc.string(), fc.boolean(), (value, stamp, async) => {
        const decoded = decodeEnvelope(v8Serializer, encodeEnvelope(v8Serializer, value, stamp, async))
        expect(decoded.value).toStrictEqual(value)
        expect(decoded.stamp).toBe(stamp)
        expect(decoded.async).toBe(async)
      }),
      { numRuns: 500 },
    )
  })
})

describe('decoding garbage', () => {
  it('random bytes only ever raise CorruptEntryError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, withHeader) => {
        const input = withHeader
          ? Buffer.concat([Buffer.from([0xf2, 0, 0, 3]), Buffer.from('v8\n'), bytes])
          : bytes
        try {
          decodeEnvelope(v8Serializer, input)
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptEntryError)
        }
      }),
      { numRuns: 5000 },
    )
  })

  it('random payloads behind a valid header and checksum only ever raise CorruptEntryError', () => {
    for (const serializer of [v8Serializer, jsonSerializer]) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          const header = Buffer.from(`${serializer.name}\n`)
          const body = Buffer.concat([Buffer.from([0xf2, 0, 0, header.length]), header, bytes])
          const checksum = Buffer.alloc(4)
          checksum.writeUInt32LE(crc32(body))
          try {
            decodeEnvelope(serializer, Buffer.concat([body, checksum]))
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptEntryError)
          }
        }),
        { numRuns: 2000 },
      )
    }
  })

  it('corrupted real entries only ever raise CorruptEntryError', () => {
    const entry = encodeEnvelope(
      v8Serializer,
      { a: [1, 'two', new Map([[1, 2]])], d: new Date() },
      'x.y.z',
      true,
    )
    fc.assert(
      fc.property(
        fc.nat(entry.length - 1),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(entry.length),
        (at, byte, cut) => {
          const corrupted = Buffer.from(entry)
          corrupted[at] = byte
          for (const input of [corrupted, corrupted.subarray(0, cut)]) {
            // With the checksum, any change at all is refused; only the entry itself decodes.
            if (input.equals(entry)) continue
            expect(() => decodeEnvelope(v8Serializer, input)).toThrow(CorruptEntryError)
          }
        },
      ),
      { numRuns: 5000 },
    )
  })

  it('hostile payloads never pollute prototypes', () => {
    const json = Buffer.from('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}')
    const fromJson = jsonSerializer.decode(json) as Record<string, unknown>
    expect(Object.getPrototypeOf(fromJson)).toBe(Object.prototype)
    const viaV8 = v8Serializer.decode(v8Serializer.encode(fromJson)) as Record<string, unknown>
    expect(Object.getPrototypeOf(viaV8)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('an entry written by another serializer is refused, not misread', () => {
    const entry = encodeEnvelope(jsonSerializer, { a: 1 }, '', false)
    expect(() => decodeEnvelope(v8Serializer, entry)).toThrow(CorruptEntryError)
  })
})

describe('jsonSerializer', () => {
  it('round-trips JSON values exactly, and refuses the one JSON changes (-0)', () => {
    const hasNegativeZero = (value: unknown): boolean =>
      Object.is(value, -0) ||
      (typeof value === 'object' && value !== null && Object.values(value).some(hasNegativeZero))
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        if (hasNegativeZero(value)) {
          expect(() => jsonSerializer.encode(value)).toThrow(SerializationError)
        } else {
          expect(jsonSerializer.decode(jsonSerializer.encode(value))).toStrictEqual(value)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('refuses what JSON would silently change', () => {
    for (const value of [
      new Date(),
      new Map(),
      new Set(),
      1n,
      undefined,
      Number.NaN,
      { a: undefined },
      [undefined],
      new Uint8Array(1),
    ]) {
      expect(() => jsonSerializer.encode(value)).toThrow(SerializationError)
    }
  })
})
