import { deserialize, serialize } from 'node:v8'
import { SerializationError } from '../errors.js'
import { checkV8RoundTrip } from './round-trip.js'
import type { Serializer } from './serializer.js'

/**
 * The default serializer: Node's structured-clone format (`node:v8`), which needs no dependency and runs
 * in C++. It stores only what it gives back exactly; anything else is refused with a
 * {@link SerializationError} naming the spot (`value.items[3].owner`), so the cache returns the computed
 * value, stores nothing and reports the error (`cache.set` throws it).
 *
 * Round-trips: primitives (including `undefined`, `NaN`, `-0`, `BigInt`), plain objects, arrays (holes
 * and named properties included), `Date`, `RegExp` (with `lastIndex` 0), `Map`, `Set`, `ArrayBuffer`,
 * typed arrays, `Buffer`, `DataView`, boxed primitives, the built-in errors (`Error`, `TypeError`,
 * `RangeError`, `SyntaxError`, `ReferenceError`, `EvalError`, `URIError`, with message, stack and
 * `cause`), nesting, shared references and cycles.
 *
 * Refused (they would come back changed): class instances (they would come back as plain objects, their
 * methods gone), subclasses of the built-ins (a `class Users extends Map`, a custom error class),
 * `AggregateError`, errors with extra properties (a `code`), properties added to a `Date`, `Map`, `Set`
 * or other built-in, symbol-keyed, non-enumerable and accessor (get/set) properties of plain objects,
 * symbol-keyed properties of arrays, a `RegExp` whose `lastIndex` is not 0, views of a
 * `SharedArrayBuffer`, proxies, functions, symbols, `WeakMap`, `Promise` and host objects (`Blob`,
 * `URL`...).
 *
 * Changed, by design: an object with a `null` prototype comes back with `Object.prototype`; a frozen,
 * sealed or read-only object comes back as ordinary writable data; a typed array comes back over its own
 * copy of its bytes (two views of one buffer no longer share memory).
 * Not checked, because finding them costs a pass over every element: named or non-enumerable properties
 * added to a typed array or `Buffer` (not stored), non-enumerable properties and accessors of arrays.
 *
 * Decoding hostile bytes is safe: the format is the one browsers accept from untrusted processes, it
 * throws on malformed input (which the cache reports as a miss), and it creates properties as own data
 * properties, so a `__proto__` key cannot pollute prototypes.
 *
 * @example
 * const cache = createCache({ domainKey: 'APP', backend, serializer: v8Serializer }) // the default
 * await cache.set('when', new Date()) // a Date comes back as a Date
 * await cache.set('user', new User()) // throws SerializationError: value is an instance of User...
 */
export const v8Serializer: Serializer = {
  name: 'v8',
  encode(value) {
    checkV8RoundTrip(value)
    try {
      return serialize(value)
    } catch (error) {
      // What the walk lets through but the format still refuses (a host object met through a getter...).
      throw new SerializationError(
        `v8Serializer cannot store the value: ${error instanceof Error ? error.message : String(error)}`,
        error,
      )
    }
  },
  decode: (bytes) => deserialize(bytes instanceof Buffer ? bytes : Buffer.from(bytes)),
}
