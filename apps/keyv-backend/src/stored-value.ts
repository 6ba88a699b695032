// #region stored-value
import type { KeyvValue } from 'keyv'

/**
 * What this backend writes to Keyv for one key: Keyv's own envelope, with the bytes as base64 text and
 * the absolute expiry in ms since the epoch (Keyv 6's format, so Keyv's own tools read our entries).
 *
 * Why text: Keyv hands every value to its serializer, and a store keeps what the serializer gives it.
 * Every serializer and every store handles a string; not all of them handle a `Uint8Array` (a plain
 * `JSON.stringify` turns one into `{"0":104,"1":105}`). Base64 costs a third more space, which is what
 * Keyv's own serializer spends on bytes anyway. A string is also immutable: a store that keeps values
 * as they are (a `Map` without serialization) can never hand a caller bytes that another caller changed.
 */
export type StoredValue = KeyvValue<string>

/** What a read finds: our envelope, or (under a key another program wrote) anything. */
export type Found = KeyvValue<unknown>

/** The envelope for `bytes` written now with `ttlMs` (undefined: no expiry). */
export function storedValue(bytes: Uint8Array, ttlMs: number | undefined): StoredValue {
  return { value: toBase64(bytes), expires: expiresAt(ttlMs) }
}

/** The absolute expiry of a write made now, rounded up so that an entry never expires early. */
export function expiresAt(ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : Math.ceil(Date.now() + ttlMs)
}

/** What Keyv decoded, unless there is nothing or it has expired. */
export function liveValue(decoded: unknown): Found | undefined {
  if (decoded === undefined || decoded === null) return undefined
  if (typeof decoded !== 'object') return { value: decoded }
  const { value, expires } = decoded as Found
  return typeof expires === 'number' && expires <= Date.now() ? undefined : { value, expires }
}

/** The bytes of one of our envelopes. Refuses another program's value rather than guess its bytes. */
export function bytesOf(found: Found, key: string): Uint8Array {
  if (typeof found.value !== 'string') {
    throw new TypeError(`Keyv holds a value under "${key}" that KeyvBackend did not write`)
  }
  const buffer = Buffer.from(found.value, 'base64')
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/** Whether `found` holds exactly `bytes` (base64 is canonical: same bytes, same text). */
export function holdsBytes(found: Found, bytes: Uint8Array): boolean {
  return found.value === toBase64(bytes)
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}
// #endregion stored-value
