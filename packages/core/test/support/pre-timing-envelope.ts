// The entry codec of the release before results carried their timing, kept as it was: the tests use it
// to check what a process of that release makes of entries written now (a reported miss, never a value).
import { crc32 } from 'node:zlib'
import { CorruptEntryError, RapideError, SerializationError } from '../../src/errors.js'
import type { Serializer } from '../../src/serialization/serializer.js'

/**
 * The byte layout of a stored entry on byte-storing backends:
 *
 * ```
 * 0xF2 | flags (u8) | header length (u16 BE) | header: "{serializer}\n{stamp}" (utf8) | payload | CRC-32 (u32 LE)
 * ```
 *
 * The first byte is never an ASCII digit or `-`, so an entry is never confused with a counter written by
 * `incr` (stored as plain decimal text, which lets Redis use `INCRBY`). `stamp` records the generations
 * the value was computed under; key-value entries have an empty stamp.
 *
 * The CRC-32 covers everything before it (magic, flags, header and payload): a flipped, truncated or
 * extended entry is a reported miss ({@link CorruptEntryError}), never a different value. It is stored
 * little-endian so that the CRC of the whole entry is the fixed CRC-32 residue: the hit path checks one
 * call over the bytes it already holds, without slicing them.
 *
 * 0xF1 was the format before the checksum: such entries are refused (a miss), never read unchecked.
 */
const MAGIC = 0xf2
const UNCHECKSUMMED_MAGIC = 0xf1
const FLAG_ASYNC = 1
const KNOWN_FLAGS = FLAG_ASYNC
/** CRC-32 of any message followed by its own CRC-32 in little-endian order. */
const CRC32_RESIDUE = 0x2144df1c
const PREFIX_BYTES = 4
const CHECKSUM_BYTES = 4

export interface DecodedEnvelope {
  readonly value: unknown
  readonly stamp: string
  readonly async: boolean
}

/**
 * Encodes a value with its serializer name, stamp and async flag. Throws a {@link SerializationError}
 * (whatever the serializer threw is its `cause`) if the value cannot be stored.
 */
export function encodeEnvelope(
  serializer: Serializer,
  value: unknown,
  stamp: string,
  async: boolean,
): Buffer {
  let payload: Uint8Array
  try {
    payload = serializer.encode(value)
  } catch (error) {
    // A custom serializer may throw anything: callers of `set` and the error event get a typed error.
    if (RapideError.isInstance(error)) throw error
    const detail = error instanceof Error ? error.message : String(error)
    throw new SerializationError(
      `The ${serializer.name} serializer cannot encode the value: ${detail}`,
      error,
    )
  }
  const header = Buffer.from(`${serializer.name}\n${stamp}`)
  if (header.length > 0xffff) {
    throw new SerializationError(
      `The entry header (serializer name and stamp) is ${header.length} bytes, over 65535`,
    )
  }
  const end = PREFIX_BYTES + header.length + payload.byteLength
  const out = Buffer.allocUnsafe(end + CHECKSUM_BYTES)
  out[0] = MAGIC
  out[1] = async ? FLAG_ASYNC : 0
  out.writeUInt16BE(header.length, 2)
  header.copy(out, PREFIX_BYTES)
  out.set(payload, PREFIX_BYTES + header.length)
  out.writeUInt32LE(crc32(out.subarray(0, end)), end)
  return out
}

/**
 * Decodes an envelope; throws {@link CorruptEntryError} for anything corrupt, malformed, foreign, written
 * by another serializer or by the format before checksums. The engine reports it and treats it as a miss.
 */
export function decodeEnvelope(serializer: Serializer, stored: unknown): DecodedEnvelope {
  const { bytes, stamp, headerEnd, payloadEnd } = checkEnvelope(serializer, stored)
  let value: unknown
  try {
    value = serializer.decode(bytes.subarray(headerEnd, payloadEnd))
  } catch (error) {
    throw new CorruptEntryError(
      `payload does not decode: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  return { value, stamp, async: (bytes[1]! & FLAG_ASYNC) !== 0 }
}

/**
 * The stamp of an entry, checked like {@link decodeEnvelope} (checksum, format, serializer) but without
 * decoding the payload: what the background reclamation needs to judge a result.
 */
export function decodeStamp(serializer: Serializer, stored: unknown): string {
  return checkEnvelope(serializer, stored).stamp
}

/** Verifies an entry and reads its header; throws {@link CorruptEntryError} like `decodeEnvelope`. */
function checkEnvelope(
  serializer: Serializer,
  stored: unknown,
): { bytes: Buffer; stamp: string; headerEnd: number; payloadEnd: number } {
  if (!(stored instanceof Uint8Array)) throw new CorruptEntryError(`expected bytes, got ${typeof stored}`)
  const bytes =
    stored instanceof Buffer ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  if (bytes.length > 0 && bytes[0] === UNCHECKSUMMED_MAGIC) {
    throw new CorruptEntryError(
      'written in the format before checksums (an older rapide): a miss, recomputed',
    )
  }
  if (bytes.length < PREFIX_BYTES + CHECKSUM_BYTES || bytes[0] !== MAGIC) {
    throw new CorruptEntryError('not a rapide entry')
  }
  if (crc32(bytes) !== CRC32_RESIDUE) throw new CorruptEntryError('checksum mismatch')
  if ((bytes[1]! & ~KNOWN_FLAGS) !== 0) throw new CorruptEntryError(`unknown flags ${bytes[1]}`)
  const payloadEnd = bytes.length - CHECKSUM_BYTES
  const headerEnd = PREFIX_BYTES + bytes.readUInt16BE(2)
  if (headerEnd > payloadEnd) throw new CorruptEntryError('truncated header')
  const header = bytes.toString('utf8', PREFIX_BYTES, headerEnd)
  const newline = header.indexOf('\n')
  if (newline < 0) throw new CorruptEntryError('malformed header')
  const name = header.slice(0, newline)
  if (name !== serializer.name) {
    throw new CorruptEntryError(`written by serializer "${name}", this cache uses "${serializer.name}"`)
  }
  return { bytes, stamp: header.slice(newline + 1), headerEnd, payloadEnd }
}

/** Counters are stored as decimal text. */
export function encodeCounter(value: number): Buffer {
  return Buffer.from(String(value))
}

/** Returns the counter a stored value holds, or `undefined` if it is not a counter. */
export function decodeCounter(stored: unknown): number | undefined {
  if (typeof stored === 'number') return stored
  if (!(stored instanceof Uint8Array) || stored.length === 0 || stored.length > 21) return undefined
  const text = Buffer.from(stored.buffer, stored.byteOffset, stored.length).toString('latin1')
  return /^-?\d+$/.test(text) ? Number(text) : undefined
}

/** Token values (generations, lock tokens) are stored as text bytes. */
export function encodeText(text: string): Buffer {
  return Buffer.from(text)
}

export function decodeText(stored: unknown): string | undefined {
  if (typeof stored === 'string') return stored
  if (stored instanceof Buffer) return stored.toString('utf8')
  if (!(stored instanceof Uint8Array)) return undefined
  return Buffer.from(stored.buffer, stored.byteOffset, stored.length).toString('utf8')
}
