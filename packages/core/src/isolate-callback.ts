import { CallbackError } from './errors.js'

/**
 * Calls a user callback (an event listener, a backend hook such as `onCircuitChange`) so that nothing it
 * does can break the caller or crash the process: a synchronous throw and a rejected returned promise are
 * both caught and handed to `report` as a {@link CallbackError}. Without `report` they become a process
 * warning (`RapideCallbackWarning`), never an exception inside a timer or an unhandled rejection.
 *
 * @example
 * isolateCallback('onCircuitChange', () => options.onCircuitChange?.(state))
 */
export function isolateCallback(
  where: string,
  run: () => unknown,
  report?: (error: CallbackError) => void,
): void {
  const fail = (cause: unknown) => {
    const error = new CallbackError(where, cause)
    if (report !== undefined) {
      try {
        report(error)
        return
      } catch {
        // A failing reporter falls back to the warning below.
      }
    }
    process.emitWarning(error.message, {
      type: 'RapideCallbackWarning',
      code: error.code,
      detail: String(cause),
    })
  }
  let result: unknown
  try {
    result = run()
  } catch (cause) {
    fail(cause)
    return
  }
  if (
    typeof result === 'object' &&
    result !== null &&
    typeof (result as PromiseLike<unknown>).then === 'function'
  ) {
    Promise.resolve(result).then(undefined, fail)
  }
}
