/**
 * The method a class implements so that its instances can be cache-key arguments.
 *
 * Rapide keys a call by the complete observable state of its arguments. It cannot see the whole state of an
 * instance of your class (`#private` fields, closures, data held in a `WeakMap` are invisible from outside),
 * so an instance is refused with `UnkeyableArgumentError` unless its class says what identifies it:
 * `[cacheKey]()` returns any keyable value (a string, a number, a plain object, an array...) and the
 * instance is keyed by that value and its class name. Two instances whose `[cacheKey]()` return equal
 * values are the same argument; instances of two different classes never share a key.
 *
 * The class must have a name, unique among the classes keyed in the process (two distinct classes named
 * `Point` would share keys, so the second one is refused).
 *
 * It is a registered symbol (`Symbol.for('rapide.cacheKey')`), so a library can implement it without
 * depending on `@rapide/core`.
 *
 * @example
 * import { cacheKey } from '@rapide/core'
 *
 * class Money {
 *   #cents: bigint
 *   readonly currency: string
 *   constructor(cents: bigint, currency: string) {
 *     this.#cents = cents
 *     this.currency = currency
 *   }
 *   [cacheKey]() {
 *     return [this.#cents, this.currency]
 *   }
 * }
 *
 * const convert = cache.wrap('CONVERT', (amount: Money, to: string) => rates.convert(amount, to))
 * convert(new Money(1999n, 'EUR'), 'USD') // keyed by Money, [1999n, 'EUR'] and 'USD'
 */
export const cacheKey: unique symbol = Symbol.for('rapide.cacheKey')

/** An object whose class chose what identifies it in a cache key (see {@link cacheKey}). */
export interface CacheKeyable {
  [cacheKey](): unknown
}
