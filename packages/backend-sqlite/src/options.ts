import { resolve } from 'node:path'
import { checkOptions, InvalidOptionError, parseTtl, type Ttl } from '@rapide/core'
import type { Database } from 'better-sqlite3'
import { defaultDatabasePath } from './default-path.js'
import type { Bounds } from './housekeeping.js'
import { type TableNames, tableNames } from './schema.js'

/** Options of {@link SqliteBackend}. */
export interface SqliteBackendOptions {
  /**
   * The database file; created with its folder when missing. `':memory:'` keeps the cache in this
   * connection only (neither persistent nor shared). Default: {@link defaultDatabasePath}.
   */
  path?: string
  /**
   * An open better-sqlite3 database to use instead of `path`. The backend creates its tables in it and
   * leaves everything else alone: it does not change the journal mode or busy timeout, and does not
   * close it.
   */
  database?: Database
  /** Name of the entries table (letters, digits, `_`); two caches may share a file under two names. Default `rapide_cache`. */
  table?: string
  /**
   * How long a write waits for another connection's write lock before failing: the bound of every
   * operation on this synchronous backend. Seconds or a duration string; default `'2s'`.
   */
  busyTimeout?: Ttl
  /**
   * Evict once the table holds more values (results and key-value entries) than this, oldest written
   * first. Bookkeeping rows (generations, invalidation markers, locks, counters) are not counted and never
   * evicted: they expire, or are reclaimed after function and domain invalidations. Default: no bound.
   */
  maxEntries?: number
  /** Evict (in the order of `maxEntries`) once stored values take more bytes than this. Default: no bound. */
  maxBytes?: number
  /** How often this process sweeps expired, invalidated and excess rows; `false` for never (call `sweep()`). Default `'30s'`. */
  sweepInterval?: Ttl | false
  /**
   * What to do when the file is not a SQLite database or is corrupt: `'throw'` (default) a
   * `BackendUnavailableError` naming the file, or `'rebuild'`: delete it and start an empty cache (reported
   * with a process warning). Not available with `database`.
   */
  onCorrupt?: 'throw' | 'rebuild'
  /**
   * How many keys this connection keeps from its reads, served again without a probe while no other
   * connection has committed (checked with `PRAGMA data_version` on every read) and this one has not
   * written; `false` to read the file every time. Default 4096; off by default with `database`, whose
   * connection may be written to behind the backend's back.
   */
  readCache?: number | false
  /**
   * How often a read checks that `path` still names the file this connection has open; every write checks
   * before it writes. A file deleted (`rm -rf node_modules/.cache`) or replaced (another process's
   * `onCorrupt: 'rebuild'`) is then reopened, with a process warning (`RAPIDE_SQLITE_REOPENED`): until a
   * read checks, it may serve what the old file held, so this is the bound on how long an invalidation
   * made in the new file can go unseen here. One `stat` per check. Default `'100ms'`.
   */
  fileCheckInterval?: Ttl
}

/** The options checked, with their defaults applied and durations in milliseconds. */
export interface SqliteSettings {
  readonly table: string
  readonly names: TableNames
  /** The absolute database file (`':memory:'` and `''` as given), or the name of the given `database`. */
  readonly path: string
  readonly database: Database | undefined
  readonly bounds: Bounds
  readonly busyTimeoutMs: number
  readonly fileCheckMs: number
  readonly onCorrupt: 'throw' | 'rebuild'
  /** Keys kept from reads; `undefined` when the read cache is off. */
  readonly readCacheSize: number | undefined
  /** `undefined`: no periodic sweep. */
  readonly sweepIntervalMs: number | undefined
}

/** Every option of {@link SqliteBackendOptions}: anything else is a typo or a feature that does not exist. */
const OPTION_NAMES: readonly (keyof SqliteBackendOptions)[] = [
  'path',
  'database',
  'table',
  'busyTimeout',
  'maxEntries',
  'maxBytes',
  'sweepInterval',
  'onCorrupt',
  'readCache',
  'fileCheckInterval',
]

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/** Keys a connection keeps from its reads by default (see `readCache`). */
const DEFAULT_READ_CACHE = 4096

/**
 * Checks every option before anything is opened, so a mistake is an `InvalidOptionError` (or
 * `InvalidTtlError`) naming it, and no file is created for a backend that will not be built.
 */
export function resolveOptions(options: SqliteBackendOptions): SqliteSettings {
  checkOptions(options, OPTION_NAMES, 'new SqliteBackend()')
  const table = options.table ?? 'rapide_cache'
  if (!TABLE_NAME.test(table)) {
    throw new InvalidOptionError(`SqliteBackend: table "${table}" must be letters, digits and _ (at most 63)`)
  }
  const bounds = {
    maxEntries: positiveInteger(options.maxEntries, 'maxEntries'),
    maxBytes: positiveInteger(options.maxBytes, 'maxBytes'),
  }
  const busyTimeoutMs = parseTtl(options.busyTimeout ?? '2s', 'SqliteBackend busyTimeout')
  const fileCheckMs = parseTtl(options.fileCheckInterval ?? '100ms', 'SqliteBackend fileCheckInterval')
  const onCorrupt = options.onCorrupt ?? 'throw'
  if (onCorrupt !== 'throw' && onCorrupt !== 'rebuild') {
    throw new InvalidOptionError(`SqliteBackend: onCorrupt must be 'throw' or 'rebuild'`)
  }
  const { database } = options
  if (database !== undefined) {
    if (options.path !== undefined) {
      throw new InvalidOptionError('SqliteBackend: pass `path` or `database`, not both')
    }
    if (onCorrupt === 'rebuild') {
      throw new InvalidOptionError(
        "SqliteBackend: onCorrupt 'rebuild' would delete a database you own; it needs `path`",
      )
    }
  }
  const cacheOption = options.readCache ?? (database === undefined ? DEFAULT_READ_CACHE : false)
  const interval = options.sweepInterval ?? '30s'
  return {
    table,
    names: tableNames(table),
    path: database === undefined ? absolute(options.path ?? defaultDatabasePath()) : database.name,
    database,
    bounds,
    busyTimeoutMs,
    fileCheckMs,
    onCorrupt,
    readCacheSize: cacheOption === false ? undefined : positiveInteger(cacheOption, 'readCache'),
    sweepIntervalMs: interval === false ? undefined : parseTtl(interval, 'SqliteBackend sweepInterval'),
  }
}

/** Absolute once and for all: a later `process.chdir()` must not move the cache to another file. */
function absolute(path: string): string {
  return path === ':memory:' || path === '' ? path : resolve(path)
}

function positiveInteger(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionError(`SqliteBackend: ${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}
