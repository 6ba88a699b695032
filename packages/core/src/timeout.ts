import { BackendTimeoutError } from './errors.js'

/**
 * Rejects with {@link BackendTimeoutError} if `promise` has not settled within `ms` (the timer does not
 * keep the process alive). For backend authors: every backend operation must have a bounded time.
 *
 * @example await withTimeout(client.quit(), 500, 'close')
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BackendTimeoutError(operation, ms)), ms)
    // A pending timeout must not keep the process alive on its own.
    timer.unref?.()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
