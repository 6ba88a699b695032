import type { FunctionEngine } from '../engine/function-engine.js'
import { InvalidOptionError } from '../errors.js'

/** What a wrapped function looks like to `invalidator`: its function key is enough. */
interface HasFunctionKey {
  readonly functionKey: string
}

/**
 * A target of `cache.invalidator`: a wrapped function or function key (every result of it), or
 * `{ target, args }` where `args(result, ...callArgs)` gives the arguments of the one result to
 * invalidate (`undefined` for none).
 */
export type LinkedTarget<Args extends readonly unknown[], R> =
  | HasFunctionKey
  | string
  | {
      target: HasFunctionKey | string
      args: (result: Awaited<R>, ...callArgs: Args) => readonly unknown[] | undefined
    }

/** A target, checked: its engine (looked up at each call: the function may be wrapped later) and mapping. */
export interface CheckedTarget<Args extends readonly unknown[], R> {
  readonly engine: () => FunctionEngine
  readonly args: ((result: Awaited<R>, ...callArgs: Args) => readonly unknown[] | undefined) | undefined
}

/** Checks `invalidator`'s targets once, when it is made. */
export function linkedTargets<Args extends readonly unknown[], R>(
  options: { invalidates: readonly LinkedTarget<Args, R>[] },
  engineFor: (functionKey: string) => FunctionEngine,
): CheckedTarget<Args, R>[] {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.invalidates)) {
    throw new InvalidOptionError('invalidator: expected { invalidates: [...] }')
  }
  return options.invalidates.map((target, i) => {
    const where = `invalidator: invalidates[${i}]`
    const keyOf = (named: unknown): string => {
      const key = typeof named === 'string' ? named : (named as HasFunctionKey | undefined)?.functionKey
      if (typeof key !== 'string' || key === '') {
        throw new InvalidOptionError(
          `${where} must be a wrapped function, a function key or { target, args }`,
        )
      }
      return key
    }
    if (typeof target === 'object' && target !== null && 'target' in target) {
      if (typeof target.args !== 'function') throw new InvalidOptionError(`${where}.args must be a function`)
      const key = keyOf(target.target)
      return { engine: () => engineFor(key), args: target.args }
    }
    const key = keyOf(target)
    return { engine: () => engineFor(key), args: undefined }
  })
}
