import type {
  Accelerations,
  AtomicMethods,
  BackendCapabilities,
  BackendEntry,
  BatchMethods,
  ListingMethods,
  SyncBackend,
} from '@rapide/core'
import type { Database } from 'better-sqlite3'
import { Connection, describeError } from './connection.js'
import { resolvedFile } from './file-identity.js'
import { sqliteOptionsFromUrl } from './from-url.js'
import { Housekeeping, type SweepReport } from './housekeeping.js'
import { resolveOptions, type SqliteBackendOptions, type SqliteSettings } from './options.js'
import { Reader } from './reader.js'
import { Statements } from './statements.js'
import { Writer } from './writer.js'

/** Writes of this process between two opportunistic background sweeps. */
const WRITES_PER_SWEEP = 1000

/**
 * What {@link SqliteBackend.accelerations} gives the core: a miss written in one transaction, and
 * invalidated results reclaimed by the backend's own sweeps.
 */
export type SqliteAccelerations = Required<
  Pick<Accelerations<true, Uint8Array>, 'setGuarded' | 'reclaimPrefix'>
>

/**
 * The embedded persistent backend: a SQLite file shared by every process and worker thread on the
 * machine, answering synchronously, so a wrapped synchronous function stays synchronous.
 *
 * Safe under concurrency: WAL journal (readers never block writers), a bounded busy timeout, and
 * `BEGIN IMMEDIATE` for every read-modify-write (`incr`, batches), so contention waits instead of failing.
 *
 * Implements contract version 2 with every optional group (batches, atomics, listing) and two
 * accelerations (`setGuarded`, `reclaimPrefix`). After `close()`, every operation throws `ClosedError`.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { SqliteBackend } from '@rapide/backend-sqlite'
 *
 * const cache = createCache({ backend: new SqliteBackend({ path: './cache.sqlite' }), defaultTtl: '5m' })
 * const getCustomer = cache.wrap('getCustomer', (id: number) => db.customer(id))
 * getCustomer(1) // computed; a second call, in any process on this machine, reads the file
 */
export class SqliteBackend
  implements
    SyncBackend<Uint8Array>,
    BatchMethods<true, Uint8Array>,
    AtomicMethods<true, Uint8Array>,
    ListingMethods<true>
{
  readonly specificationVersion = 2
  readonly name = 'sqlite'
  readonly capabilities: BackendCapabilities<true>
  /** The database file, or `':memory:'`. */
  readonly path: string
  /**
   * Names the store: the resolved file and the table, so two instances opened on one file (say two
   * `createCache({ backend: SqliteBackend })` on the default path) are recognised as one store. Undefined
   * for a private in-memory database: each instance is its own store.
   *
   * @example new SqliteBackend({ path: './cache.sqlite' }).storeId // 'sqlite:/srv/app/cache.sqlite#rapide_cache'
   */
  readonly storeId: string | undefined

  private readonly settings: SqliteSettings
  private readonly connection: Connection
  private readonly timer: NodeJS.Timeout | undefined
  private writesSinceSweep = 0
  // Prepared on each connection by `attach` (the constructor's first call assigns them).
  private statements!: Statements
  private reader!: Reader
  private writer!: Writer
  private housekeeping!: Housekeeping

  /**
   * A SQLite backend from a URL: `sqlite:///var/cache/app.db` (absolute), `sqlite:./cache.db` (relative to
   * the working directory), `sqlite://` (the default file), `sqlite::memory:` or `sqlite://:memory:`, with
   * options in the query string (`table`, `busyTimeout`, `maxEntries`, `maxBytes`, `sweepInterval`,
   * `onCorrupt`, `readCache`, `fileCheckInterval`) checked as constructor options are. What
   * `createCache({ backend: 'sqlite:…' })` and `RAPIDE_URL` use.
   *
   * @example
   * const backend = SqliteBackend.fromUrl('sqlite:///var/cache/app.db?maxEntries=100000&onCorrupt=rebuild')
   */
  static fromUrl(url: string): SqliteBackend {
    return new SqliteBackend(sqliteOptionsFromUrl(url))
  }

  constructor(options: SqliteBackendOptions = {}) {
    this.settings = resolveOptions(options)
    this.connection = new Connection(this.settings, (db) => this.attach(db))
    this.path = this.connection.path
    const inMemory = this.connection.db.memory
    this.capabilities = { sync: true, persistent: !inMemory, shared: !inMemory, inProcessValues: false }
    this.storeId = inMemory ? undefined : `sqlite:${resolvedFile(this.path)}#${this.settings.table}`
    this.attach(this.connection.db)
    const interval = this.settings.sweepIntervalMs
    if (interval !== undefined) {
      this.timer = setInterval(() => {
        // A quiet process follows a replaced file too, so it never sweeps a file nobody else sees.
        try {
          this.connection.checkFile()
        } catch (error) {
          process.emitWarning(`rapide sqlite: reopening ${this.path} failed: ${describeError(error)}`)
          return
        }
        this.sweepSoon()
      }, interval)
      this.timer.unref()
    }
  }

  // ---- the contract: required ------------------------------------------------------------------

  get(key: string): Uint8Array | undefined {
    return this.connection.run(() => this.reader.get(key))
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): void {
    this.mutate(() => this.writer.set(key, value, ttlMs), [key])
  }

  delete(key: string): boolean {
    return this.mutate(() => this.writer.delete(key), [key])
  }

  ping(): boolean {
    return this.connection.run(() => this.statements.ping.get() === 1)
  }

  /** Stops the sweeps and closes the file (not a `database` it was given). Harmless twice. */
  close(): void {
    if (this.connection.closed) return
    if (this.timer !== undefined) clearInterval(this.timer)
    this.connection.close()
  }

  // ---- the contract: batches -------------------------------------------------------------------

  getMany(keys: readonly string[]): (Uint8Array | undefined)[] {
    return this.connection.run(() => this.reader.getMany(keys))
  }

  setMany(entries: readonly BackendEntry<Uint8Array>[]): void {
    this.mutate(
      () => this.writer.setMany(entries),
      entries.map((entry) => entry.key),
    )
  }

  deleteMany(keys: readonly string[]): number {
    return this.mutate(() => this.writer.deleteMany(keys), keys)
  }

  // ---- the contract: atomics -------------------------------------------------------------------

  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): boolean {
    return this.mutate(() => this.writer.setNx(key, value, ttlMs), [key])
  }

  deleteIfEquals(key: string, value: Uint8Array): boolean {
    return this.mutate(() => this.writer.deleteIfEquals(key, value), [key])
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    return this.mutate(() => this.writer.incr(key, delta, ttlMs), [key])
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    return this.mutate(() => this.writer.expire(key, ttlMs), [key])
  }

  // ---- the contract: listing -------------------------------------------------------------------

  keys(prefix: string): string[] {
    return this.connection.run(() => this.reader.keys(prefix))
  }

  deletePrefix(prefix: string): number {
    return this.mutate(() => this.writer.deletePrefix(prefix))
  }

  // ---- the contract: accelerations -------------------------------------------------------------

  /**
   * Called once per cache. `setGuarded` writes a new result and its generation in one transaction (one
   * commit per miss instead of two); `reclaimPrefix` records a dead prefix with its time, for the sweeps
   * to remove in index ranges (instead of the core listing and deleting keys). No `scope`: every key is
   * one primary-key probe, and the hit reads its four keys in one statement already.
   *
   * @example
   * const { setGuarded } = backend.accelerations()
   * setGuarded({ key: 'gen', value: token, ttlMs: undefined }, { key: 'result', value, ttlMs: 60_000 })
   */
  accelerations(): SqliteAccelerations {
    return {
      // A miss's store checks the file on the reads' cadence, not before every write: written to a file
      // just deleted or replaced, it is lost to other processes, which compute the value themselves, and
      // it is read back here only until the next check, as any read of the old file would be.
      setGuarded: (guard, entry) =>
        this.mutate(() => this.writer.setGuarded(guard, entry), [guard.key, entry.key], false),
      reclaimPrefix: (prefix) => this.reclaim(prefix),
    }
  }

  // ---- beyond the contract ---------------------------------------------------------------------

  /**
   * Runs a housekeeping pass now, synchronously: deletes expired rows, reclaims invalidated results and
   * enforces `maxEntries` / `maxBytes`. The backend also does this on its own (every `sweepInterval`,
   * after every 1000 writes of this process and after invalidations), in steps that do not stall calls.
   *
   * @example const { expired, reclaimed, evicted } = backend.sweep()
   */
  sweep(): SweepReport {
    return this.mutate(() => this.housekeeping.sweep())
  }

  /** The underlying better-sqlite3 connection (for inspection; the tables belong to the backend). */
  get database(): Database {
    return this.connection.db
  }

  // ---- wiring ----------------------------------------------------------------------------------

  /** Prepares what runs on a connection: on the first, and on each that replaces it (see `Connection`). */
  private attach(db: Database): void {
    const { names, readCacheSize, bounds } = this.settings
    this.statements = new Statements(db, names)
    this.reader = new Reader(this.statements, readCacheSize)
    this.writer = new Writer(db, this.statements, (bytes) => this.wrote(bytes))
    this.housekeeping = new Housekeeping(db, names, bounds, () => this.reader.forget())
  }

  /**
   * A write: runs with `write` set (it checks the file first, unless `checkFile` is false), then drops what the read cache kept of
   * `keys` (of everything, when not given). This connection's own commits do not move the data version,
   * so the cache must hear of them here, whatever the write and however it ended; what it kept of other
   * keys stays exact (another connection's commit would move the version).
   */
  private mutate<T>(work: () => T, keys?: readonly string[], checkFile = true): T {
    try {
      return this.connection.run(work, checkFile)
    } finally {
      this.reader.forget(keys)
    }
  }

  /** Records the dead prefix, then sweeps soon after (in short background steps, off the caller's time). */
  private reclaim(prefix: string): void {
    this.mutate(() => this.writer.markDead(prefix), [])
    this.sweepSoon()
  }

  private wrote(bytes: number): void {
    this.housekeeping.noteWrite(bytes)
    if (++this.writesSinceSweep >= WRITES_PER_SWEEP) this.sweepSoon()
  }

  private sweepSoon(): void {
    if (this.connection.closed) return
    this.writesSinceSweep = 0
    this.housekeeping.sweepInBackground((error) => {
      // Runs on an event-loop turn of its own: nothing may be thrown from here (it would crash the process).
      try {
        if (this.connection.rebuildIfCorrupt(error)) return
      } catch (failure) {
        error = failure
      }
      process.emitWarning(`rapide sqlite: a background sweep of ${this.path} failed: ${describeError(error)}`)
    })
  }
}
