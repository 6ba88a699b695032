import { BackendError, BackendUnavailableError, type RapideError } from '@rapide/core'

/** A Node.js system error (`code` such as `'ENOENT'`). */
export interface SystemError extends Error {
  code?: string
}

export function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as SystemError).code : undefined
}

export function isMissing(error: unknown): boolean {
  return codeOf(error) === 'ENOENT'
}

/**
 * Turns a file-system failure into a typed error whose message says what to do. The core's `onError`
 * policy then decides: `silent` computes through (and reports it), `raise` throws it.
 *
 * - `ENOSPC` / `EDQUOT` (disk full, quota): `BackendError`, free space or lower `maxBytes`;
 * - `EACCES` / `EPERM` / `EROFS` (no right to write): `BackendUnavailableError`, fix the permissions or
 *   choose another `directory`. `EPERM` on a rename (Windows, when another process holds the file open)
 *   has been retried before it gets here;
 * - `EMFILE` / `ENFILE`: `BackendError`, too many open files;
 * - anything else: `BackendError` with the system error as `cause`.
 */
export function fileSystemError(operation: string, directory: string, error: unknown): RapideError {
  const code = codeOf(error)
  const detail = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new BackendError(
        operation,
        withMessage(
          error,
          `${detail}. The disk holding the cache directory ${directory} is full: free some space, set a lower maxBytes, or call prune()`,
        ),
      )
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new BackendUnavailableError(
        `Disk backend: cannot write in ${directory} (${code}): give this process write access to it, or choose another directory (option \`directory\` or RAPIDE_DISK_DIR). ${detail}`,
        error,
      )
    case 'EMFILE':
    case 'ENFILE':
      return new BackendError(
        operation,
        withMessage(
          error,
          `${detail}. Too many open files: raise the limit (ulimit -n) or open fewer at once`,
        ),
      )
    default:
      return new BackendError(operation, error)
  }
}

/** The system error with a message that says what to do (`code`, `errno` and `path` kept). */
function withMessage(error: unknown, message: string): Error {
  if (error instanceof Error) {
    const copy = new Error(message, { cause: error })
    Object.assign(copy, { code: codeOf(error) })
    return copy
  }
  return new Error(message)
}
