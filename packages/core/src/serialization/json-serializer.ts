import { SerializationError } from '../errors.js'
import { checkJsonRoundTrip } from './round-trip.js'
import type { Serializer } from './serializer.js'

/**
 * A JSON serializer for interoperability (other languages reading the same Redis, for example).
 *
 * It is strict: it stores only what `JSON.parse` gives back exactly, and refuses anything else with a
 * {@link SerializationError} naming the spot (`value.items[3].owner`), so the cache returns the computed
 * value, stores nothing and reports the error (`cache.set` throws it).
 *
 * Round-trips: strings, booleans, `null`, finite numbers other than `-0`, arrays without holes, plain
 * objects, nesting.
 *
 * Refused: `-0` (JSON writes 0), `NaN` and `±Infinity` (null), `undefined` (left out, or null in an
 * array), `BigInt`, functions, symbols, holes in arrays (null), named properties of arrays, symbol-keyed,
 * non-enumerable and accessor properties, objects with a `toJSON` method (JSON would store its output),
 * `Date`, `Map`, `Set`, boxed primitives, typed arrays, `ArrayBuffer`, errors, class instances, proxies
 * and cycles.
 *
 * Changed, by design: an object with a `null` prototype comes back with `Object.prototype`; a frozen,
 * sealed or read-only object comes back as ordinary writable data; an object met twice (a shared
 * reference) comes back as two equal copies.
 *
 * Decoding is safe: `JSON.parse` creates a `__proto__` key as an own property, never a prototype.
 *
 * @example
 * const cache = createCache({ domainKey: 'APP', backend, serializer: jsonSerializer })
 * await cache.set('user', { id: 1, tags: ['a'] }) // stored as {"id":1,"tags":["a"]}
 * await cache.set('when', new Date()) // throws SerializationError: value is a Date...
 */
export const jsonSerializer: Serializer = {
  name: 'json',
  encode(value) {
    checkJsonRoundTrip(value)
    let text: string
    try {
      text = JSON.stringify(value)
    } catch (error) {
      throw new SerializationError(
        `jsonSerializer cannot store the value: ${error instanceof Error ? error.message : String(error)}`,
        error,
      )
    }
    return Buffer.from(text)
  },
  decode(bytes) {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  },
}
