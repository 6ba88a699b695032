/**
 * Turns values into bytes and back. The name is stored with every entry: an entry written by another
 * serializer is a miss, never a misread.
 *
 * @example
 * const cache = createCache({ domainKey: 'APP', backend, serializer: jsonSerializer })
 */
export interface Serializer {
  readonly name: string
  encode(value: unknown): Uint8Array
  /** May throw on malformed input; the cache turns that into a reported miss. */
  decode(bytes: Uint8Array): unknown
}
