import { RapideError, SerializationError } from '../errors.js'
import { LiveValue } from '../live-entry.js'
import {
  type DecodedEnvelope,
  decodeCounter,
  decodeEnvelope,
  decodeStamp,
  decodeText,
  type EntryTiming,
  encodeEnvelope,
  encodeText,
} from './envelope.js'
import type { Serializer } from './serializer.js'
import type { Signer } from './signing.js'

/**
 * How one cache stores what it writes: key-value values, function results (with their stamp) and
 * generation or lock tokens, as envelope bytes on a byte-storing backend or as live values on an
 * in-process one. A value that cannot be decoded is a miss, reported through `report`.
 *
 * With a signer (the `sign` option), values and results are signed for their full storage key and
 * verified when read; an in-process backend holds no bytes, so there is nothing to sign there. Counters
 * (`incr`, plain decimal text so Redis can `INCRBY` them) and tokens stay unsigned.
 */
export class StoredValues {
  private readonly signer: Signer | undefined

  constructor(
    private readonly serializer: Serializer,
    private readonly inProcessValues: boolean,
    private readonly report: (operation: string, error: unknown, key?: string) => void,
    signer?: Signer,
  ) {
    this.signer = inProcessValues ? undefined : signer
  }

  /** The stamp a stored result carries (its payload left undecoded), or `undefined` when it is unreadable. */
  stampOf(stored: unknown): string | undefined {
    try {
      return decodeStamp(this.serializer, stored)
    } catch {
      return undefined
    }
  }

  /** Encodes a key-value API value, to be stored at `key` (the full storage key, which a signature binds). */
  encodeValue(value: unknown, key: string): unknown {
    if (this.inProcessValues) return new LiveValue(value)
    return encodeEnvelope(this.serializer, value, '', false, undefined, this.signer, key)
  }

  /** Decodes a key-value API value (a counter reads as its number); undecodable is a reported miss. */
  decodeValue(stored: unknown, key: string): unknown {
    if (stored === undefined) return undefined
    if (stored instanceof LiveValue) return stored.value
    const counter = decodeCounter(stored)
    if (counter !== undefined) return counter
    try {
      return decodeEnvelope(this.serializer, stored, true, this.signer, key).value
    } catch (error) {
      this.report('decode', error, key)
      return undefined
    }
  }

  /**
   * Encodes a function result with the stamp of the generations it was computed under, and its timing, to
   * be stored at `key` (the full storage key, which a signature binds).
   */
  encodeResult(value: unknown, stamp: string, async: boolean, timing: EntryTiming, key: string): Uint8Array {
    try {
      return encodeEnvelope(this.serializer, value, stamp, async, timing, this.signer, key)
    } catch (error) {
      throw RapideError.isInstance(error)
        ? error
        : new SerializationError(`The ${this.serializer.name} serializer cannot encode the result`, error)
    }
  }

  /**
   * Decodes a function result stored at `key`; throws a `CorruptEntryError` (a `SignatureError` when a
   * signature is missing or does not verify). `timing`: see `decodeEnvelope`.
   */
  decodeResult(stored: unknown, key: string, timing: boolean): DecodedEnvelope {
    return decodeEnvelope(this.serializer, stored, timing, this.signer, key)
  }

  /** A generation or lock token as the backend stores it (text bytes, or the string itself in process). */
  encodeToken(token: string): unknown {
    return this.inProcessValues ? token : encodeText(token)
  }

  decodeToken(stored: unknown): string | undefined {
    return stored === undefined ? undefined : decodeText(stored)
  }
}
