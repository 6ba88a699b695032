/** A value, or a promise of it: what a backend returns depends on whether it is synchronous. */
export type MaybePromise<T> = T | Promise<T>

/** True for anything with a callable `then`, the test the language itself uses for `await`. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * Applies `next` to a value or to a promise's result, staying synchronous when the input is.
 * This is what lets one engine serve synchronous and asynchronous backends alike.
 *
 * Named `chain`, not `then`: a module exporting `then` is itself a thenable, and awaiting its import
 * would call it.
 */
export function chain<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}
