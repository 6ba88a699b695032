import { NotSupportedError } from './errors.js'
import type { MaybePromise } from './maybe-promise.js'

/** What a generator function produces: its sequence is what gets cached. */
export type SequenceKind = 'async' | 'sync'

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown

/**
 * The longest sequence that is cached. A generator that yields more is stopped with a
 * `NotSupportedError` rather than run forever (an endless generator cannot be cached: it is collected
 * before the first value is replayed).
 */
export const MAX_SEQUENCE_LENGTH = 1_000_000

/** What is cached for a generator function: every yielded value, and what it returned. */
interface Sequence {
  readonly values: readonly unknown[]
  readonly returned: unknown
}

function tooLong(): NotSupportedError {
  return new NotSupportedError(
    `A wrapped generator yielded more than ${MAX_SEQUENCE_LENGTH} values: only finite sequences up to that length are cached`,
  )
}

/** Whether `fn` is a generator function (`function*` or `async function*`). */
export function sequenceKind(fn: AnyFunction): SequenceKind | undefined {
  const name = fn.constructor.name
  if (name === 'AsyncGeneratorFunction') return 'async'
  if (name === 'GeneratorFunction') return 'sync'
  return undefined
}

/**
 * The function the engine caches in place of a generator function: it runs the generator to its end and
 * returns what it yielded and returned. A generator that throws midway throws here, so nothing is
 * cached; the caller sees the error at its first `next()`.
 */
export function collecting(fn: AnyFunction, kind: SequenceKind): AnyFunction {
  if (kind === 'async') {
    return async function (this: unknown, ...args: unknown[]): Promise<Sequence> {
      const iterator = fn.apply(this, args) as AsyncIterator<unknown>
      const values: unknown[] = []
      for (;;) {
        const step = await iterator.next()
        if (step.done) return { values, returned: step.value }
        if (values.length === MAX_SEQUENCE_LENGTH) {
          await iterator.return?.()
          throw tooLong()
        }
        values.push(step.value)
      }
    }
  }
  return function (this: unknown, ...args: unknown[]): Sequence {
    const iterator = fn.apply(this, args) as Iterator<unknown>
    const values: unknown[] = []
    for (;;) {
      const step = iterator.next()
      if (step.done) return { values, returned: step.value }
      if (values.length === MAX_SEQUENCE_LENGTH) {
        iterator.return?.()
        throw tooLong()
      }
      values.push(step.value)
    }
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
  track: (call: Promise<unknown>) => void,
): Generator | AsyncGenerator {
  let values: MaybePromise<unknown>
  try {
    values = call()
    if (values instanceof Promise) track(values)
  } catch (error) {
    // Like a generator function, the error surfaces at the first `next()`, not at the call.
    return kind === 'sync' && !asyncBackend ? throwingSync(error) : replayAsync(Promise.reject(error))
  }
  if (kind === 'sync' && !(values instanceof Promise)) return replaySync(values as Sequence)
  return replayAsync(values as MaybePromise<Sequence>)
}

// biome-ignore lint/correctness/useYield: it throws at the first next(), as the generator would.
function* throwingSync(error: unknown): Generator<unknown, unknown, undefined> {
  throw error
}

function* replaySync(sequence: Sequence): Generator<unknown, unknown, undefined> {
  yield* sequence.values
  return sequence.returned
}

async function* replayAsync(sequence: MaybePromise<Sequence>): AsyncGenerator<unknown, unknown, undefined> {
  const { values, returned } = await sequence
  yield* values
  return returned
}

/** A generator object (from a function that returns one without being a generator function). */
export function isGeneratorObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const tag = Object.prototype.toString.call(value)
  return tag === '[object Generator]' || tag === '[object AsyncGenerator]'
}
