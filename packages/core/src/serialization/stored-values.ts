import { RapideError, SerializationError } from '../errors.js'
import { LiveValue } from '../live-entry.js'
import {
  decodeCounter,
  decodeEnvelope,
  decodeStamp,
  decodeText,
  type EntryTiming,
  encodeEnvelope,
  encodeText,
} from './envelope.js'
import type { Serializer } from './serializer.js'

/**
 * How one cache stores what it writes: key-value values, function results (with their stamp) and
 * generation or lock tokens, as envelope bytes on a byte-storing backend or as live values on an
 * in-process one. A value that cannot be decoded is a miss, reported through `report`.
 */
export class StoredValues {
  constructor(
    private readonly serializer: Serializer,
    private readonly inProcessValues: boolean,
    private readonly report: (operation: string, error: unknown, key?: string) => void,
  ) {}

  /** The stamp a stored result carries (its payload left undecoded), or `undefined` when it is unreadable. */
  stampOf(stored: unknown): string | undefined {
    try {
      return decodeStamp(this.serializer, stored)
    } catch {
      return undefined
    }
  }

  /** Encodes a key-value API value. */
  encodeValue(value: unknown): unknown {
    if (this.inProcessValues) return new LiveValue(value)
    return encodeEnvelope(this.serializer, value, '', false)
  }

  /** Decodes a key-value API value (a counter reads as its number); undecodable is a reported miss. */
  decodeValue(stored: unknown, key: string): unknown {
    if (stored === undefined) return undefined
    if (stored instanceof LiveValue) return stored.value
    const counter = decodeCounter(stored)
    if (counter !== undefined) return counter
    try {
      return decodeEnvelope(this.serializer, stored).value
    } catch (error) {
      this.report('decode', error, key)
      return undefined
    }
  }

  /** Encodes a function result with the stamp of the generations it was computed under, and its timing. */
  encodeResult(value: unknown, stamp: string, async: boolean, timing: EntryTiming): Uint8Array {
    try {
      return encodeEnvelope(this.serializer, value, stamp, async, timing)
    } catch (error) {
      throw RapideError.isInstance(error)
        ? error
        : new SerializationError(`The ${this.serializer.name} serializer cannot encode the result`, error)
    }
  }

  /** A generation or lock token as the backend stores it (text bytes, or the string itself in process). */
  encodeToken(token: string): unknown {
    return this.inProcessValues ? token : encodeText(token)
  }

  decodeToken(stored: unknown): string | undefined {
    return stored === undefined ? undefined : decodeText(stored)
  }
}
