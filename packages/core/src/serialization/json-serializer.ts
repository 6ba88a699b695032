import { SerializationError } from '../errors.js'
import type { Serializer } from './serializer.js'

/**
 * A JSON serializer for interoperability (other languages reading the same Redis, for example).
 *
 * It is strict: a value JSON cannot round-trip (`Date`, `Map`, `Set`, `BigInt`, `undefined`, `NaN`,
 * `Infinity`, typed arrays, class instances) is a {@link SerializationError} when stored rather than
 * something that comes back changed.
 */
export const jsonSerializer: Serializer = {
  name: 'json',
  encode(value) {
    let text: string | undefined
    try {
      text = JSON.stringify(value, rejectLossy)
    } catch (error) {
      if (error instanceof SerializationError) throw error
      throw new SerializationError(`jsonSerializer cannot encode the value: ${String(error)}`, error)
    }
    if (text === undefined) throw new SerializationError('jsonSerializer cannot encode undefined')
    return Buffer.from(text)
  },
  decode(bytes) {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  },
}

function rejectLossy(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the value before toJSON ran, so a Date is seen as a Date, not as its string.
  const original = this[key]
  const where = key === '' ? 'the value' : `property "${key}"`
  switch (typeof original) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(original)) throw new SerializationError(`jsonSerializer: ${where} is ${original}`)
      return value
    case 'object': {
      if (original === null || Array.isArray(original)) return value
      const proto = Object.getPrototypeOf(original)
      if (proto === Object.prototype || proto === null) return value
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'object'
      throw new SerializationError(`jsonSerializer: ${where} is a ${name}, which JSON cannot round-trip`)
    }
    default:
      throw new SerializationError(`jsonSerializer: ${where} is ${typeof original}, which JSON cannot encode`)
  }
}
