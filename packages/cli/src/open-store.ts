import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { defaultDirectory, diskOptionsFromUrl, MARKER_FILE } from '@rapide/backend-disk'
import { defaultDatabasePath, sqliteOptionsFromUrl } from '@rapide/backend-sqlite'
import {
  type AnyBackend,
  type Backend,
  backendFromUrl,
  ErrorCodes,
  RapideError,
  redactUrl,
} from '@rapide/core'
import { CliError, ExitCode } from './exit-codes.js'

/** A store opened from a URL, for one command. */
export interface OpenStore {
  /** The backend; every call is awaited, so synchronous and asynchronous backends read the same. */
  readonly backend: Backend<unknown>
  /** The URL with its password hidden: the only form of it the CLI ever prints. */
  readonly label: string
  close(): Promise<void>
}

/**
 * Opens the store a URL names, with the backend packages this CLI ships (`resolveFrom`), so `npx
 * @rapide/cli` opens any of them without an install next to it.
 *
 * `mem://` is refused unless `inProcess` (only `ping` allows it): a memory store lives inside the
 * application that created it, and this process would only see a new, empty one.
 */
export function openStore(url: string, options: { inProcess?: boolean } = {}): OpenStore {
  const label = redactUrl(url)
  if (/^\s*mem:/i.test(url) && options.inProcess !== true) {
    throw new CliError(
      `${label}: a memory store lives inside the application that created it; another process cannot see it. Point the CLI at a disk, SQLite or Redis store, or inspect the memory store from inside the app (cache.stats()).`,
      ExitCode.inProcessStore,
    )
  }
  let backend: AnyBackend
  try {
    refuseMissingStore(url, label, options.inProcess === true)
    backend = backendFromUrl(url, { resolveFrom: import.meta.url })
  } catch (error) {
    throw asCliError(error)
  }
  if (backend.specificationVersion !== 2) {
    throw new CliError(`${label}: the backend speaks an older contract the CLI cannot use`, ExitCode.failed)
  }
  const v2 = backend as Backend<unknown>
  return {
    backend: v2,
    label,
    close: async () => {
      try {
        await v2.close?.()
      } catch {
        // Closing after a failure must not hide the failure the user needs to see.
      }
    },
  }
}

/**
 * A SQLite file or disk directory must exist already: opening one creates it, and a mistyped path would
 * otherwise be inspected as an empty store ("0 keys") and left behind. A private `:memory:` database is
 * refused like `mem://` (nothing another process can see).
 */
function refuseMissingStore(url: string, label: string, inProcess: boolean): void {
  if (/^\s*sqlite:/i.test(url)) {
    const path = sqliteOptionsFromUrl(url).path ?? defaultDatabasePath()
    if (path === ':memory:' || path === '') {
      if (inProcess) return
      throw new CliError(
        `${label}: an in-memory SQLite database lives inside the connection that opened it; another process cannot see it.`,
        ExitCode.inProcessStore,
      )
    }
    if (!existsSync(path)) {
      throw new CliError(
        `${label}: there is no SQLite file at ${path} (nothing was created: the CLI opens existing stores only)`,
        ExitCode.failed,
      )
    }
  } else if (/^\s*disk:/i.test(url)) {
    const directory = diskOptionsFromUrl(url).directory ?? defaultDirectory()
    if (!existsSync(join(directory, MARKER_FILE))) {
      throw new CliError(
        `${label}: ${directory} is not a rapide disk cache (no ${MARKER_FILE}; nothing was created: the CLI opens existing stores only)`,
        ExitCode.failed,
      )
    }
  }
}

/** The exit code an error of the core or a backend stands for: bad options are usage errors. */
export function asCliError(error: unknown): CliError {
  if (error instanceof CliError) return error
  if (RapideError.isInstance(error)) {
    const message = redactMessage(error.message)
    const usage: readonly string[] = [
      ErrorCodes.INVALID_OPTION,
      ErrorCodes.INVALID_PATTERN,
      ErrorCodes.INVALID_TTL,
    ]
    return new CliError(message, usage.includes(error.code) ? ExitCode.usage : ExitCode.failed)
  }
  const message = error instanceof Error ? error.message : String(error)
  return new CliError(redactMessage(message), ExitCode.failed)
}

/** Hides the password of any URL a driver's message may quote. */
function redactMessage(message: string): string {
  return message.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'`]+/gi, (url) => redactUrl(url))
}
