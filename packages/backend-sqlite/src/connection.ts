import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { BackendUnavailableError, ClosedError } from '@rapide/core'
import type { Database } from 'better-sqlite3'
import { identity, MISSING, removeDatabaseFiles } from './file-identity.js'
import { loadDriver, openDatabase } from './load-driver.js'
import type { SqliteSettings } from './options.js'
import { prepareSchema } from './schema.js'

/**
 * The life of the backend's connection: opening the file (WAL, schema), following `path` when the file
 * is deleted or replaced, rebuilding a corrupt file, and closing. Every operation runs through
 * {@link run}, which refuses once closed and swaps the connection when needed; whoever prepared
 * something on the old one is told through `replaced`.
 */
export class Connection {
  /** The database file, or `':memory:'`, or the name of the given database. */
  readonly path: string
  /** Whether to follow `path` (see `fileCheckInterval`): only for a file this backend opened itself. */
  readonly followsPath: boolean
  private current: Database
  /** The backend opened the database (from `path`), so it may close, reopen and rebuild it. */
  private readonly owned: boolean
  private closedAlready = false
  /**
   * Identity (device and inode) of the file we opened: a rebuild never deletes a file another process
   * already rebuilt, and a path that names another file (or none) is reopened.
   */
  private fileIdentity: string | undefined
  /** When the next read checks the file (writes always do). */
  private nextFileCheck: number

  constructor(
    private readonly settings: SqliteSettings,
    /** Told of each new connection after the first, to prepare its statements anew. */
    private readonly replaced: (db: Database) => void,
  ) {
    this.path = settings.path
    if (settings.database !== undefined) {
      this.owned = false
      this.current = settings.database
      prepareSchema(this.current, settings.names)
    } else {
      this.owned = true
      this.current = this.open()
    }
    this.followsPath = this.owned && !this.current.memory
    this.nextFileCheck = Date.now() + settings.fileCheckMs
  }

  /** The open connection (replaced when the file is). */
  get db(): Database {
    return this.current
  }

  get closed(): boolean {
    return this.closedAlready
  }

  /**
   * Every operation runs here. A write first checks that `path` still names the open file, a read does so
   * every `fileCheckInterval` (see {@link followPath}). Corruption becomes a clear error, or with
   * `onCorrupt: 'rebuild'` an empty cache on which the operation runs once more (`work` must read the
   * statements anew). Anything else (a busy timeout, a full disk) is thrown for the core to report and handle.
   */
  run<T>(work: () => T, write = false): T {
    if (this.closedAlready) throw new ClosedError(`SQLite backend (${this.path})`)
    if (this.followsPath) {
      const now = Date.now()
      // A write to a file nobody else opens would be lost to them: writes always check (a stat costs
      // little next to a commit). Reads check at most every fileCheckMs, so a hit costs no syscall.
      if (write || now >= this.nextFileCheck || this.fileIdentity === undefined) this.followPath(now)
    }
    try {
      return work()
    } catch (error) {
      if (!isCorruption(error)) throw error
      if (this.settings.onCorrupt === 'throw') throw this.corruptError(error)
      this.rebuild(error)
      return work()
    }
  }

  /** Follows `path` now, outside any operation (a quiet process must not sweep a file nobody else sees). */
  checkFile(): void {
    if (this.followsPath && !this.closedAlready) this.followPath(Date.now())
  }

  /**
   * For a failure outside any operation (a background sweep): rebuilds when it is corruption and
   * `onCorrupt` is `'rebuild'`, and answers whether it did. Throws when the rebuild fails.
   */
  rebuildIfCorrupt(error: unknown): boolean {
    if (!isCorruption(error) || this.settings.onCorrupt !== 'rebuild' || this.closedAlready) return false
    this.rebuild(error)
    return true
  }

  /** Harmless twice. A database the backend was given stays open (it is the caller's), but is no longer used. */
  close(): void {
    if (this.closedAlready) return
    this.closedAlready = true
    if (this.owned && this.current.open) this.current.close()
  }

  /** Opens `path`; a corrupt file is refused, or with `onCorrupt: 'rebuild'` deleted and opened anew once. */
  private open(): Database {
    const { path } = this
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true })
    try {
      return this.openFile()
    } catch (error) {
      if (!isCorruption(error)) throw error
      if (this.settings.onCorrupt === 'throw') throw this.corruptError(error)
      warnRebuild(path, error)
      removeDatabaseFiles(path, this.fileIdentity)
      return this.openFile()
    }
  }

  private openFile(): Database {
    const db = openDatabase(loadDriver(), this.path, { timeout: this.settings.busyTimeoutMs })
    try {
      this.fileIdentity = identity(this.path)
      if (!db.memory) {
        this.enableWal(db)
        // WAL + NORMAL survives a crashed process (only a power loss can drop the last commits, fine for a cache).
        db.pragma('synchronous = NORMAL')
      }
      prepareSchema(db, this.settings.names)
      return db
    } catch (error) {
      db.close()
      throw error
    }
  }

  /**
   * Switches the file to WAL. Switching takes an exclusive lock, and SQLite does not call the busy handler
   * on that path: when several processes open a new file at once, all but one get `SQLITE_BUSY` at once.
   * So the switch is retried, with growing pauses, within the busy timeout.
   */
  private enableWal(db: Database): void {
    const deadline = Date.now() + this.settings.busyTimeoutMs
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        db.pragma('journal_mode = WAL')
        return
      } catch (error) {
        const busy = (error as { code?: unknown }).code
        if (typeof busy !== 'string' || !busy.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error
        // Opening is synchronous: wait without spinning.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause)
      }
    }
  }

  /**
   * Reopens when `path` no longer names the file this connection has open: it was deleted (`rm -rf
   * node_modules/.cache`) or replaced (another process rebuilt it). SQLite keeps using the file it opened,
   * so without this the process would read a file nobody else writes, missing their invalidations, and
   * write where nobody reads. Closing the old connection is safe: SQLite neither checkpoints nor deletes
   * the journal files of a database file that has moved.
   */
  private followPath(now: number): void {
    this.nextFileCheck = now + this.settings.fileCheckMs
    const current = identity(this.path)
    if (current === undefined || current === this.fileIdentity) return
    if (this.fileIdentity !== undefined) {
      const what = current === MISSING ? 'was deleted' : 'was replaced by another file'
      process.emitWarning(`rapide sqlite: ${this.path} ${what} while in use; reopening it`, {
        code: 'RAPIDE_SQLITE_REOPENED',
      })
    }
    this.replaceConnection()
  }

  private rebuild(error: unknown): void {
    if (!this.owned || this.current.memory) throw error
    warnRebuild(this.path, error)
    if (this.current.open) this.current.close()
    removeDatabaseFiles(this.path, this.fileIdentity)
    this.replaceConnection()
  }

  /** Opens `path` anew; what was prepared on the old connection follows (see `replaced`). */
  private replaceConnection(): void {
    if (this.current.open) this.current.close()
    try {
      this.current = this.open()
    } catch (error) {
      // Unknown: the next operation tries again instead of using the closed connection.
      this.fileIdentity = undefined
      throw error
    }
    this.replaced(this.current)
  }

  private corruptError(error: unknown): BackendUnavailableError {
    return new BackendUnavailableError(
      `${this.path} is not a usable SQLite database (${describeError(error)}). Delete it, choose another \`path\`, ` +
        "or pass `onCorrupt: 'rebuild'` to let the cache start empty.",
      error,
    )
  }
}

/** The message of an error, for warnings. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)
}

function warnRebuild(path: string, error: unknown): void {
  process.emitWarning(
    `rapide sqlite: ${path} is corrupt (${describeError(error)}); rebuilding an empty cache`,
    {
      code: 'RAPIDE_SQLITE_REBUILT',
    },
  )
}
