import { crc32 } from 'node:zlib'
import { CorruptEntryError, RapideError, SerializationError, SignatureError } from '../errors.js'
import type { Serializer } from './serializer.js'
import { SIGNATURE_BYTES, type Signer } from './signing.js'

/**
 * The byte layout of a stored entry on byte-storing backends:
 *
 * ```
 * 0xF2 | flags (u8) | header length (u16 BE) | header: "{serializer}\n{stamp}" (utf8) | payload
 *      [| key id (4 bytes) | HMAC-SHA256 (32 bytes)]  when signed | CRC-32 (u32 LE)
 * ```
 *
 * An entry written by a cache with `sign` (flag `SIGNED`) carries a signature between the payload and the
 * CRC: the signing key's id (4 bytes) and an HMAC-SHA256 (32 bytes) over the storage key and everything
 * before the MAC (see {@link Signer}). A cache with `sign` refuses an entry without it; a cache without
 * `sign` reads a signed entry as any other (it trusts its store).
 *
 * A function result carries when it was stored and how long it took to compute (flag `TIMED`): its header
 * is then `"{serializer}\n{storedAt}:{computeMs}\n{stamp}"`, the timing before the stamp because a stamp
 * may hold any character. What freshness strategies read (stale-while-revalidate, early refresh…).
 *
 * The first byte is never an ASCII digit or `-`, so an entry is never confused with a counter written by
 * `incr` (stored as plain decimal text, which lets Redis use `INCRBY`). `stamp` records the generations
 * the value was computed under; key-value entries have an empty stamp.
 *
 * The CRC-32 covers everything before it (magic, flags, header, payload, signature): a flipped,
 * truncated or extended entry is a reported miss ({@link CorruptEntryError}), never a different value. It
 * is stored little-endian so that the CRC of the whole entry is the fixed CRC-32 residue: the hit path
 * checks one call over the bytes it already holds, without slicing them. (It guards against accidents
 * only: a forger recomputes it. Against forgery, `sign`.)
 *
 * 0xF1 was the format before the checksum: such entries are refused (a miss), never read unchecked.
 */
const MAGIC = 0xf2
const UNCHECKSUMMED_MAGIC = 0xf1
const FLAG_ASYNC = 1
const FLAG_TIMED = 2
const FLAG_SIGNED = 4
const KNOWN_FLAGS = FLAG_ASYNC | FLAG_TIMED | FLAG_SIGNED
/** CRC-32 of any message followed by its own CRC-32 in little-endian order. */
const CRC32_RESIDUE = 0x2144df1c
/** `{storedAt}:{computeMs}`: whole milliseconds since the epoch, and a duration in milliseconds. */
const TIMING = /^(\d{1,15}):(\d{1,12}(?:\.\d{1,9})?)$/
const FUTURE_SLACK_MS = 86_400_000
const PREFIX_BYTES = 4
const CHECKSUM_BYTES = 4

export interface DecodedEnvelope {
  readonly value: unknown
  readonly stamp: string
  readonly async: boolean
  /** When a function result was stored (ms since the epoch); 0 when not recorded (key-value values). */
  readonly storedAt: number
  /** How long computing it took (ms); 0 when not recorded. */
  readonly computeMs: number
}

/** When a result was stored and how long it took to compute. */
export interface EntryTiming {
  readonly storedAt: number
  readonly computeMs: number
}

/**
 * Encodes a value with its serializer name, stamp and async flag, signed for `storageKey` when a signer is
 * given. Throws a {@link SerializationError} (whatever the serializer threw is its `cause`) if the value
 * cannot be stored.
 */
export function encodeEnvelope(
  serializer: Serializer,
  value: unknown,
  stamp: string,
  async: boolean,
  timing?: EntryTiming,
  signer?: Signer,
  storageKey?: string,
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
  const header = Buffer.from(
    timing === undefined
      ? `${serializer.name}\n${stamp}`
      : `${serializer.name}\n${Math.round(timing.storedAt)}:${Math.round(timing.computeMs * 1000) / 1000}\n${stamp}`,
  )
  if (header.length > 0xffff) {
    throw new SerializationError(
      `The entry header (serializer name and stamp) is ${header.length} bytes, over 65535`,
    )
  }
  const payloadEnd = PREFIX_BYTES + header.length + payload.byteLength
  const end = signer === undefined ? payloadEnd : payloadEnd + SIGNATURE_BYTES
  const out = Buffer.allocUnsafe(end + CHECKSUM_BYTES)
  out[0] = MAGIC
  out[1] =
    (async ? FLAG_ASYNC : 0) |
    (timing === undefined ? 0 : FLAG_TIMED) |
    (signer === undefined ? 0 : FLAG_SIGNED)
  out.writeUInt16BE(header.length, 2)
  header.copy(out, PREFIX_BYTES)
  out.set(payload, PREFIX_BYTES + header.length)
  if (signer !== undefined) {
    if (storageKey === undefined) throw new TypeError('a signed entry needs its storage key')
    signer.sign(storageKey, out, payloadEnd)
  }
  out.writeUInt32LE(crc32(out.subarray(0, end)), end)
  return out
}

/**
 * Decodes an envelope; throws {@link CorruptEntryError} for anything corrupt, malformed, foreign, written
 * by another serializer or by the format before checksums. The engine reports it and treats it as a miss.
 * `timing`: read when the result was stored (what freshness strategies need); without it the hit path
 * skips parsing it (`storedAt` and `computeMs` are then 0). With a signer, the entry must carry a
 * signature that verifies for `storageKey` ({@link SignatureError} otherwise), checked before anything
 * else of the entry is read.
 */
export function decodeEnvelope(
  serializer: Serializer,
  stored: unknown,
  timing = true,
  signer?: Signer,
  storageKey?: string,
): DecodedEnvelope {
  const { bytes, stamp, headerEnd, payloadEnd, storedAt, computeMs } = checkEnvelope(
    serializer,
    stored,
    timing,
    signer,
    storageKey,
  )
  let value: unknown
  try {
    value = serializer.decode(bytes.subarray(headerEnd, payloadEnd))
  } catch (error) {
    throw new CorruptEntryError(
      `payload does not decode: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  return { value, stamp, async: (bytes[1]! & FLAG_ASYNC) !== 0, storedAt, computeMs }
}

/**
 * The stamp of an entry, checked like {@link decodeEnvelope} (checksum, format, serializer) but without
 * decoding the payload: what the background reclamation needs to judge a result. The signature is not
 * verified: the stamp only decides whether to delete an entry, which anyone able to forge one can do.
 */
export function decodeStamp(serializer: Serializer, stored: unknown): string {
  return checkEnvelope(serializer, stored, false).stamp
}

/** When an entry was stored and how long it took to compute (zeros when not recorded), checked like {@link decodeStamp}. */
export function decodeTiming(serializer: Serializer, stored: unknown): EntryTiming {
  const { storedAt, computeMs } = checkEnvelope(serializer, stored, true)
  return { storedAt, computeMs }
}

/** An entry's parts, checked (see {@link readEnvelope}). */
export interface EnvelopeParts {
  readonly bytes: Buffer
  readonly flags: number
  /** The name of the serializer that wrote it. */
  readonly serializer: string
  readonly stamp: string
  readonly headerEnd: number
  /** Where the payload ends: the signature (when `signed`) or the CRC begins there. */
  readonly payloadEnd: number
  readonly storedAt: number
  readonly computeMs: number
}

export const ENTRY_FLAGS = { async: FLAG_ASYNC, timed: FLAG_TIMED, signed: FLAG_SIGNED } as const

/**
 * Checks an entry (checksum, format, the signature when a signer is given) and reads its header, whoever
 * its serializer: what `describeEntry` shows. Throws {@link CorruptEntryError} like `decodeEnvelope`.
 */
export function readEnvelope(stored: unknown, signer?: Signer, storageKey?: string): EnvelopeParts {
  return checkEnvelope(undefined, stored, true, signer, storageKey)
}

/**
 * Verifies an entry and reads its header; throws {@link CorruptEntryError} like `decodeEnvelope`, also
 * for an entry written by another serializer than `serializer` (when given).
 */
function checkEnvelope(
  serializer: Serializer | undefined,
  stored: unknown,
  readTiming: boolean,
  signer?: Signer,
  storageKey?: string,
): EnvelopeParts {
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
  const flags = bytes[1]!
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new CorruptEntryError(`unknown flags ${flags}`)
  let payloadEnd = bytes.length - CHECKSUM_BYTES
  if ((flags & FLAG_SIGNED) !== 0) {
    payloadEnd -= SIGNATURE_BYTES
    if (payloadEnd < PREFIX_BYTES) throw new CorruptEntryError('truncated signature')
    // Before the header is parsed or the payload decoded: nothing an unverified writer chose is read.
    if (signer !== undefined) signer.verify(storageKey!, bytes, payloadEnd)
  } else if (signer !== undefined) {
    throw new SignatureError('unsigned')
  }
  const headerEnd = PREFIX_BYTES + bytes.readUInt16BE(2)
  if (headerEnd > payloadEnd) throw new CorruptEntryError('truncated header')
  const header = bytes.toString('utf8', PREFIX_BYTES, headerEnd)
  const newline = header.indexOf('\n')
  if (newline < 0) throw new CorruptEntryError('malformed header')
  const name = header.slice(0, newline)
  if (serializer !== undefined && name !== serializer.name) {
    throw new CorruptEntryError(`written by serializer "${name}", this cache uses "${serializer.name}"`)
  }
  if ((flags & FLAG_TIMED) === 0) {
    const stamp = header.slice(newline + 1)
    return { bytes, flags, serializer: name, stamp, headerEnd, payloadEnd, storedAt: 0, computeMs: 0 }
  }
  const timingEnd = header.indexOf('\n', newline + 1)
  if (!readTiming && timingEnd >= 0) {
    const stamp = header.slice(timingEnd + 1)
    return { bytes, flags, serializer: name, stamp, headerEnd, payloadEnd, storedAt: 0, computeMs: 0 }
  }
  const timing = TIMING.exec(timingEnd < 0 ? '' : header.slice(newline + 1, timingEnd))
  if (timing === null) throw new CorruptEntryError('malformed timing')
  const storedAt = Number(timing[1])
  const computeMs = Number(timing[2])
  // Stored more than a day ahead of this clock: no clock is that far off, and it would stay fresh forever.
  if (storedAt > Date.now() + FUTURE_SLACK_MS) throw new CorruptEntryError('stored in the future')
  const stamp = header.slice(timingEnd + 1)
  return { bytes, flags, serializer: name, stamp, headerEnd, payloadEnd, storedAt, computeMs }
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
