import { deserialize, serialize } from 'node:v8'
import type { Serializer } from './serializer.js'

/**
 * The default serializer: Node's structured-clone format (`node:v8`). It round-trips `Date`, `Map`,
 * `Set`, `BigInt`, `undefined`, `NaN`, `-0`, typed arrays, `RegExp`, errors, nesting and shared
 * references, needs no dependency, and runs in C++.
 *
 * Decoding hostile bytes is safe: the format is the one browsers accept from untrusted processes, it
 * throws on malformed input (which the cache reports as a miss), and it creates properties as own data
 * properties, so a `__proto__` key cannot pollute prototypes. Class instances come back as plain
 * objects, as with any serializer. Functions and symbols cannot be encoded.
 */
export const v8Serializer: Serializer = {
  name: 'v8',
  encode: (value) => serialize(value),
  decode: (bytes) => deserialize(bytes instanceof Buffer ? bytes : Buffer.from(bytes)),
}
