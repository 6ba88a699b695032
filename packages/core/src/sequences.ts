import type { MaybePromise } from './maybe-promise.js'

/** What a generator function produces: its sequence is what gets cached. */
export type SequenceKind = 'async' | 'sync'

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown

/** Whether `fn` is a generator function (`function*` or `async function*`). */
export function sequenceKind(fn: AnyFunction): SequenceKind | undefined {
  const name = fn.constructor.name
  if (name === 'AsyncGeneratorFunction') return 'async'
  if (name === 'GeneratorFunction') return 'sync'
  return undefined
}

/**
 * The function the engine caches in place of a generator function: it runs the generator to its end and
 * returns the yielded values as an array. A generator that throws midway throws here, so nothing is
 * cached; the caller sees the error at its first `next()`.
 */
export function collecting(fn: AnyFunction, kind: SequenceKind): AnyFunction {
  if (kind === 'async') {
    return async function (this: unknown, ...args: unknown[]) {
      const values: unknown[] = []
      for await (const value of fn.apply(this, args) as AsyncIterable<unknown>) values.push(value)
      return values
    }
  }
  return function (this: unknown, ...args: unknown[]) {
    return [...(fn.apply(this, args) as Iterable<unknown>)]
  }
}

/**
 * Turns the cached (or just computed) sequence back into what the generator function returns: an async
 * generator for an `async function*`, and for a `function*` a generator when the sequence is at hand
 * synchronously (a synchronous backend), else an async generator.
 */
export function replay(
  kind: SequenceKind,
  asyncBackend: boolean,
  call: () => MaybePromise<unknown>,
): Generator | AsyncGenerator {
  let values: MaybePromise<unknown>
  try {
    values = call()
  } catch (error) {
    // Like a generator function, the error surfaces at the first `next()`, not at the call.
    return kind === 'sync' && !asyncBackend ? throwingSync(error) : replayAsync(Promise.reject(error))
  }
  if (kind === 'sync' && !(values instanceof Promise)) return replaySync(values as readonly unknown[])
  return replayAsync(values as MaybePromise<readonly unknown[]>)
}

// biome-ignore lint/correctness/useYield: it throws at the first next(), as the generator would.
function* throwingSync(error: unknown): Generator<unknown, void, undefined> {
  throw error
}

function* replaySync(values: readonly unknown[]): Generator<unknown, void, undefined> {
  yield* values
}

async function* replayAsync(
  values: MaybePromise<readonly unknown[]>,
): AsyncGenerator<unknown, void, undefined> {
  yield* await values
}

/** A generator object (from a function that returns one without being a generator function). */
export function isGeneratorObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const tag = Object.prototype.toString.call(value)
  return tag === '[object Generator]' || tag === '[object AsyncGenerator]'
}
