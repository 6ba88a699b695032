import { CounterOverflowError, NotACounterError } from '../errors.js'
import { decodeCounter, encodeCounter } from '../serialization/envelope.js'
import type { NormalBackend } from './contract-v1.js'

type Atomics = Required<Pick<NormalBackend, 'setNx' | 'deleteIfEquals' | 'incr' | 'expire'>>

/**
 * Read-then-write forms of the atomic operations, for a backend without them. Only correct where nothing
 * can run between the read and the write: a synchronous store that no other process uses (the adapter
 * only installs them there). Each is called with the backend as `this`.
 */
export function emulatedAtomics(backend: NormalBackend, live: boolean): Atomics {
  // Synchronous by construction: the adapter installs these only on a synchronous backend.
  const get = (key: string) => backend.get(key) as unknown
  return {
    setNx(key, value, ttlMs) {
      if (get(key) !== undefined) return false
      backend.set(key, value, ttlMs)
      return true
    },
    deleteIfEquals(key, value) {
      const held = get(key)
      if (held === undefined || !sameValue(held, value)) return false
      backend.delete(key)
      return true
    },
    incr(key, delta, ttlMs) {
      const existing = get(key)
      const current = existing === undefined ? 0 : decodeCounter(existing)
      if (current === undefined) throw new NotACounterError(key)
      const next = current + delta
      // Past 2^53 integers round: refuse, as every backend's own incr does.
      if (!Number.isSafeInteger(next)) throw new CounterOverflowError(key)
      // An existing counter keeps its expiry, which a plain set cannot express: only a new key gets a TTL.
      backend.set(key, live ? next : encodeCounter(next), existing === undefined ? ttlMs : undefined)
      return next
    },
    expire(key, ttlMs) {
      const existing = get(key)
      if (existing === undefined) return false
      backend.set(key, existing, ttlMs)
      return true
    },
  }
}

/** Byte for byte for stored bytes; identity otherwise (an in-process store keeps tokens as strings). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0
  return a === b
}
