import type { AnyBackend, OnBackend } from './backend/contract.js'
import type { Ttl } from './ttl.js'

/**
 * What a wrapped call returns: a promise for an async function everywhere; the plain value for a
 * synchronous function on a synchronous backend; a promise of it on an asynchronous backend. A generator
 * function's yielded sequence (and its return value) is cached and replayed: an `async function*` gives an async generator, a
 * `function*` a generator on a synchronous backend and an async generator on an asynchronous one.
 */
export type CachedResult<B extends AnyBackend, R> = [R] extends [
  AsyncGenerator<infer T, infer TReturn, never>,
]
  ? AsyncGenerator<T, TReturn, undefined>
  : [R] extends [Generator<infer T, infer TReturn, never>]
    ? B['capabilities']['sync'] extends true
      ? Generator<T, TReturn, undefined>
      : B['capabilities']['sync'] extends false
        ? AsyncGenerator<T, TReturn, undefined>
        : Generator<T, TReturn, undefined> | AsyncGenerator<T, TReturn, undefined>
    : [R] extends [PromiseLike<infer V>]
      ? Promise<V>
      : OnBackend<B, R>

/**
 * A wrapped function: call it like the original, plus typed invalidation shortcuts.
 *
 * @example
 * const getName = cache.wrap('GET_NAME', (id: number) => db.name(id))
 * getName(1)             // computed, then cached
 * getName.invalidate(1)  // same arguments as the call
 * getName.invalidateAll()
 * getName.refresh(1)     // recompute and store, skipping the cache read
 * getName.setExpiry('5m') // results live 5 minutes from now on (and older ones are judged by it)
 * await getName.clear()  // every result invalidated and removed
 */
export interface CachedFunction<B extends AnyBackend, Args extends readonly unknown[], R> {
  (...args: Args): CachedResult<B, R>
  /** The function key given to `wrap`. */
  readonly functionKey: string
  /** Invalidates the result of one call (same arguments as the call). */
  invalidate(...args: Args): OnBackend<B, void>
  /** Invalidates every result of this function, in O(1). */
  invalidateAll(): OnBackend<B, void>
  /** Recomputes and stores the result of one call without reading the cache. */
  refresh(...args: Args): CachedResult<B, R>
  /** Changes this function's ttl in this process (see `cache.setExpiry`). */
  setExpiry(ttl: Ttl): void
  /** Removes this function's expired results now; answers how many (see `cache.flushExpired`). */
  flushExpired(): OnBackend<B, number>
  /** Invalidates every result, then removes them now where the store lists keys; answers how many (see `cache.clearFunc`). */
  clear(): OnBackend<B, number>
}

/** A method decorated by `cache.method`: the same shape as the original method, results cached. */
export type CachedMethod<This, Args extends readonly unknown[], R> = (this: This, ...args: Args) => R
