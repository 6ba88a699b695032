import { createRequire } from 'node:module'
import { BackendUnavailableError } from '@rapide/core'
import type BetterSqlite3 from 'better-sqlite3'

/** The better-sqlite3 module: its `Database` constructor. */
export type Driver = typeof BetterSqlite3

const INSTALL_HINT =
  'Install it next to @rapide/backend-sqlite: `npm install better-sqlite3` (a native addon; without a ' +
  'prebuilt binary for your platform it compiles with node-gyp, which needs python3, make and a C++ compiler)'

let cached: Driver | undefined

/**
 * Loads better-sqlite3, a peer dependency, on first use. A missing package or an addon that cannot load
 * (built for another Node.js, never built) becomes a {@link BackendUnavailableError} that says what to do,
 * instead of a module resolution error from deep inside Node.
 */
export function loadDriver(): Driver {
  cached ??= requireDriver(createRequire(import.meta.url))
  return cached
}

/** {@link loadDriver} with a given `require` (tests use a failing one). */
export function requireDriver(require: (id: string) => unknown): Driver {
  try {
    return require('better-sqlite3') as Driver
  } catch (error) {
    throw driverError(error)
  }
}

/** Opens a database, turning a native addon that fails to load into an actionable error. */
export function openDatabase(
  driver: Driver,
  path: string,
  options: BetterSqlite3.Options,
): BetterSqlite3.Database {
  try {
    return new driver(path, options)
  } catch (error) {
    if (isAddonFailure(error)) throw driverError(error)
    throw error
  }
}

function driverError(error: unknown): BackendUnavailableError {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    return new BackendUnavailableError(
      `The SQLite backend needs better-sqlite3, which is not installed. ${INSTALL_HINT}.`,
      error,
    )
  }
  return new BackendUnavailableError(
    `better-sqlite3 is installed but its native addon cannot be loaded (${message}). Rebuild it for this ` +
      `Node.js with \`npm rebuild better-sqlite3\`; with pnpm 10+, also allow its build script ` +
      '(`onlyBuiltDependencies: [better-sqlite3]` in pnpm-workspace.yaml).',
    error,
  )
}

function isAddonFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : ''
  return /bindings file|NODE_MODULE_VERSION|dlopen|invalid ELF|\.node\b/i.test(message)
}
