import { crc32 } from 'node:zlib'

/** One key of a group file. */
export interface StoredRecord {
  /** The value's bytes. */
  value: Uint8Array
  /** Milliseconds since the epoch; 0 is no expiry. */
  expiresAt: number
  /** When it was written (ms): what `reclaimPrefix` compares with, and the age a value is evicted by. */
  writtenAt: number
  /** Generations, markers, locks and counters: never evicted by `maxBytes` (see the README). */
  bookkeeping: boolean
}

/** The records of one group file, by key. */
export type GroupRecords = Map<string, StoredRecord>

/** "RPDK": the first bytes of every group file. */
const MAGIC = 0x5250444b
/** The layout of group files this release reads and writes. A file of another version is a miss, then rewritten. */
export const FORMAT_VERSION = 1
/** magic (4), version (1), reserved (3), group length (4), record count (4). */
const HEADER_BYTES = 16
/** key length (4), expiresAt (8), writtenAt (8), flags (1), value length (4). */
const RECORD_FIXED_BYTES = 25
const CRC_BYTES = 4
const FLAG_BOOKKEEPING = 1

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** Why a group file was not served (and is removed). */
export class GroupFileDamage extends Error {}

/**
 * Encodes a group's records:
 *
 * ```
 * "RPDK" u8 version, 3 reserved bytes, u32 group byte length, u32 record count, group (UTF-8)
 * per record: u32 key length, f64 expiresAt (0 = never), f64 writtenAt, u8 flags, u32 value length, key, value
 * u32 CRC-32 of everything before it
 * ```
 *
 * All integers little-endian. The group id is stored so that a file found under another group's name
 * (swapped, copied, or a hash collision) is recognised and never served.
 */
export function encodeGroup(group: string, records: GroupRecords): Uint8Array {
  const groupBytes = utf8.encode(group)
  const keys: Uint8Array[] = []
  let size = HEADER_BYTES + groupBytes.length + CRC_BYTES
  for (const [key, record] of records) {
    const keyBytes = utf8.encode(key)
    keys.push(keyBytes)
    size += RECORD_FIXED_BYTES + keyBytes.length + record.value.byteLength
  }
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32BE(MAGIC, 0)
  out[4] = FORMAT_VERSION
  out[5] = 0
  out[6] = 0
  out[7] = 0
  out.writeUInt32LE(groupBytes.length, 8)
  out.writeUInt32LE(records.size, 12)
  out.set(groupBytes, HEADER_BYTES)
  let at = HEADER_BYTES + groupBytes.length
  let index = 0
  for (const record of records.values()) {
    const keyBytes = keys[index++]!
    out.writeUInt32LE(keyBytes.length, at)
    out.writeDoubleLE(record.expiresAt, at + 4)
    out.writeDoubleLE(record.writtenAt, at + 12)
    out[at + 20] = record.bookkeeping ? FLAG_BOOKKEEPING : 0
    out.writeUInt32LE(record.value.byteLength, at + 21)
    at += RECORD_FIXED_BYTES
    out.set(keyBytes, at)
    at += keyBytes.length
    out.set(record.value, at)
    at += record.value.byteLength
  }
  out.writeUInt32LE(crc32(out.subarray(0, at)), at)
  return out
}

/**
 * Checks a whole file: length, magic, version, checksum, and that it holds `group` (when given).
 * Throws {@link GroupFileDamage} saying what is wrong. Answers where the records start and how many there are.
 */
export function verifyGroup(bytes: Uint8Array, group: string | undefined): { start: number; count: number } {
  if (bytes.length < HEADER_BYTES + CRC_BYTES) throw new GroupFileDamage('truncated')
  const view = viewOf(bytes)
  if (view.getUint32(0, false) !== MAGIC) throw new GroupFileDamage('not a rapide disk file')
  if (bytes[4] !== FORMAT_VERSION) throw new GroupFileDamage(`format version ${bytes[4]}`)
  const end = bytes.length - CRC_BYTES
  if (crc32(bytes.subarray(0, end)) !== view.getUint32(end, true)) {
    throw new GroupFileDamage('checksum mismatch')
  }
  const groupLength = view.getUint32(8, true)
  const start = HEADER_BYTES + groupLength
  if (start > end) throw new GroupFileDamage('malformed header')
  if (group !== undefined && !sameText(bytes, HEADER_BYTES, groupLength, group)) {
    throw new GroupFileDamage('holds another group (a file moved or copied into place)')
  }
  return { start, count: view.getUint32(12, true) }
}

/** The group a verified file says it holds. */
export function groupOfFile(bytes: Uint8Array): string {
  const length = viewOf(bytes).getUint32(8, true)
  return decodeText(bytes.subarray(HEADER_BYTES, HEADER_BYTES + length))
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    throw new GroupFileDamage('a key is not UTF-8')
  }
}

/**
 * Calls `visit` for each record of a verified file, with its key's bytes located in `bytes` (decoded only
 * on demand); `visit` answers `true` to stop. Throws {@link GroupFileDamage} when a record runs past the end.
 */
function walk(
  bytes: Uint8Array,
  start: number,
  count: number,
  visit: (keyStart: number, keyLength: number, record: StoredRecord) => boolean,
): void {
  const view = viewOf(bytes)
  const end = bytes.length - CRC_BYTES
  let at = start
  for (let i = 0; i < count; i++) {
    if (at + RECORD_FIXED_BYTES > end) throw new GroupFileDamage('malformed record')
    const keyLength = view.getUint32(at, true)
    const expiresAt = view.getFloat64(at + 4, true)
    const writtenAt = view.getFloat64(at + 12, true)
    const bookkeeping = (bytes[at + 20]! & FLAG_BOOKKEEPING) !== 0
    const valueLength = view.getUint32(at + 21, true)
    const keyStart = at + RECORD_FIXED_BYTES
    const valueStart = keyStart + keyLength
    at = valueStart + valueLength
    if (at > end) throw new GroupFileDamage('malformed record')
    // A view of the file's buffer (a plain Uint8Array, not a Buffer): the bytes read are the caller's.
    const value = new Uint8Array(bytes.buffer, bytes.byteOffset + valueStart, valueLength)
    if (visit(keyStart, keyLength, { value, expiresAt, writtenAt, bookkeeping })) return
  }
  if (at !== end) throw new GroupFileDamage('trailing bytes')
}

/** Every record of a file (values copied), e.g. to rewrite it. Verifies it first. */
export function decodeGroup(bytes: Uint8Array, group: string | undefined): GroupRecords {
  const { start, count } = verifyGroup(bytes, group)
  const records: GroupRecords = new Map()
  walk(bytes, start, count, (keyStart, keyLength, record) => {
    const key = decodeText(bytes.subarray(keyStart, keyStart + keyLength))
    records.set(key, { ...record, value: record.value.slice() })
    return false
  })
  return records
}

/**
 * Every record of a verified file by key, values as views of `bytes` (not copied): the index of a file
 * kept in memory, built once so that each later read is a map lookup.
 */
export function indexGroup(
  bytes: Uint8Array,
  start: number,
  count: number,
): ReadonlyMap<string, StoredRecord> {
  const records = new Map<string, StoredRecord>()
  walk(bytes, start, count, (keyStart, keyLength, record) => {
    records.set(decodeText(bytes.subarray(keyStart, keyStart + keyLength)), record)
    return false
  })
  return records
}

/** A copy of a value to hand out (from the pooled allocator: several times cheaper than `slice` for small values). */
export function copyOf(value: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(value.byteLength)
  copy.set(value)
  return copy
}

/**
 * The records of `keys` in a verified file (the read path): keys are compared with the stored UTF-8 bytes
 * without being encoded (see {@link sameText}). Answers one slot per key (a view of `bytes`, not copied),
 * `undefined` where absent.
 */
export function findRecords(
  bytes: Uint8Array,
  start: number,
  count: number,
  keys: readonly string[],
): (StoredRecord | undefined)[] {
  const found: (StoredRecord | undefined)[] = new Array(keys.length).fill(undefined)
  let missing = keys.length
  walk(bytes, start, count, (keyStart, keyLength, record) => {
    for (let k = 0; k < keys.length; k++) {
      if (found[k] === undefined && sameText(bytes, keyStart, keyLength, keys[k]!)) {
        found[k] = record
        missing--
      }
    }
    return missing === 0
  })
  return found
}

function equalAt(bytes: Uint8Array, start: number, length: number, key: Uint8Array): boolean {
  if (length !== key.length) return false
  for (let i = 0; i < length; i++) if (bytes[start + i] !== key[i]) return false
  return true
}

/**
 * Whether `bytes[start, start + length)` is `text` in UTF-8. Compared character by character while the
 * text is ASCII (its UTF-8 bytes are its character codes; keys nearly always are): encoding a short
 * string costs more than the whole comparison. Text with other characters is encoded and compared.
 */
export function sameText(bytes: Uint8Array, start: number, length: number, text: string): boolean {
  if (length < text.length) return false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0x80) return equalAt(bytes, start, length, utf8.encode(text))
    if (bytes[start + i] !== code) return false
  }
  return length === text.length
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Whether a record is live at `now`. */
export function isLive(record: StoredRecord, now: number): boolean {
  return record.expiresAt === 0 || record.expiresAt > now
}
