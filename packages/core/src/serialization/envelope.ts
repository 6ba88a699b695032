import type { Serializer } from './serializer.js'

/**
 * The byte layout of a stored entry on byte-storing backends:
 *
 * ```
 * 0xF1 | flags (u8) | header length (u16 BE) | header: "{serializer}\n{stamp}" (utf8) | payload
 * ```
 *
 * The first byte is never an ASCII digit or `-`, so an entry is never confused with a counter written by
 * `incr` (stored as plain decimal text, which lets Redis use `INCRBY`). `stamp` records the generations
 * the value was computed under; key-value entries have an empty stamp.
 */
const MAGIC = 0xf1
const FLAG_ASYNC = 1

export interface DecodedEnvelope {
  readonly value: unknown
  readonly stamp: string
  readonly async: boolean
}

export function encodeEnvelope(
  serializer: Serializer,
  value: unknown,
  stamp: string,
  async: boolean,
): Buffer {
  const payload = serializer.encode(value)
  const header = Buffer.from(`${serializer.name}\n${stamp}`)
  const out = Buffer.allocUnsafe(4 + header.length + payload.byteLength)
  out[0] = MAGIC
  out[1] = async ? FLAG_ASYNC : 0
  out.writeUInt16BE(header.length, 2)
  header.copy(out, 4)
  out.set(payload, 4 + header.length)
  return out
}

/** Why an entry could not be decoded; reported through the `error` event, then treated as a miss. */
export class EnvelopeError extends Error {}

/** Decodes an envelope; throws {@link EnvelopeError} for anything malformed or foreign. */
export function decodeEnvelope(serializer: Serializer, stored: unknown): DecodedEnvelope {
  if (!(stored instanceof Uint8Array)) throw new EnvelopeError(`expected bytes, got ${typeof stored}`)
  const bytes =
    stored instanceof Buffer ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  if (bytes.length < 4 || bytes[0] !== MAGIC) throw new EnvelopeError('not a rapide entry')
  const headerEnd = 4 + bytes.readUInt16BE(2)
  if (headerEnd > bytes.length) throw new EnvelopeError('truncated header')
  const header = bytes.toString('utf8', 4, headerEnd)
  const newline = header.indexOf('\n')
  if (newline < 0) throw new EnvelopeError('malformed header')
  const name = header.slice(0, newline)
  if (name !== serializer.name) {
    throw new EnvelopeError(`written by serializer "${name}", this cache uses "${serializer.name}"`)
  }
  let value: unknown
  try {
    value = serializer.decode(bytes.subarray(headerEnd))
  } catch (error) {
    throw new EnvelopeError(
      `payload does not decode: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  return { value, stamp: header.slice(newline + 1), async: (bytes[1]! & FLAG_ASYNC) !== 0 }
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
