import { mkdirSync, realpathSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import {
  type Backend,
  type BackendCapabilities,
  type BackendEntry,
  BackendUnavailableError,
  ClosedError,
  CounterOverflowError,
  checkOptions,
  InvalidOptionError,
  NotACounterError,
  parseTtl,
  type Ttl,
} from '@rapide/core'
import type { Database, Statement, Transaction } from 'better-sqlite3'
import { defaultDatabasePath } from './default-path.js'
import { Housekeeping, type SweepReport } from './housekeeping.js'
import { loadDriver, openDatabase } from './load-driver.js'
import { prefixEnd } from './prefix-range.js'
import { ReadCache } from './read-cache.js'
import { prepareSchema, RowKind, type TableNames, tableNames } from './schema.js'

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
/** Writes of this process between two opportunistic background sweeps. */
const WRITES_PER_SWEEP = 1000
/** Placeholders per statement of a batch read: well under SQLite's variable limit. */
const BATCH = 256
/** Keys a connection keeps from its reads by default (see `readCache`). */
const DEFAULT_READ_CACHE = 4096
/** Up to this many keys, `getMany` is one joined row (see `joinedRead`). */
const JOINED_READ_MAX = 8

interface Statements {
  readonly get: Statement
  readonly joinedReads: Statement[]
  readonly inListReads: Statement[]
  readonly set: Statement
  readonly delete: Statement
  readonly setNx: Statement
  readonly deleteIfEquals: Statement
  readonly touchIfEquals: Statement
  readonly readCounter: Statement
  readonly expire: Statement
  readonly keysRange: Statement
  readonly keysOpen: Statement
  readonly countRange: Statement
  readonly countOpen: Statement
  readonly deleteRange: Statement
  readonly deleteOpen: Statement
  readonly markDead: Statement
  readonly ping: Statement
  readonly dataVersion: Statement
}

/**
 * The embedded persistent backend: a SQLite file shared by every process and worker thread on the
 * machine, answering synchronously, so a wrapped synchronous function stays synchronous.
 *
 * Safe under concurrency: WAL journal (readers never block writers), a bounded busy timeout, and
 * `BEGIN IMMEDIATE` for every read-modify-write (`incr`, batches), so contention waits instead of failing.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { SqliteBackend } from '@rapide/backend-sqlite'
 *
 * const cache = createCache({ backend: new SqliteBackend({ path: './cache.sqlite' }), defaultTtl: '5m' })
 * const getCustomer = cache.wrap('getCustomer', (id: number) => db.customer(id))
 * getCustomer(1) // computed; a second call, in any process on this machine, reads the file
 */
export class SqliteBackend implements Backend<Uint8Array> {
  readonly specificationVersion = 1 as const
  readonly name = 'sqlite'
  readonly capabilities: BackendCapabilities & { readonly sync: true }
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

  private db: Database
  private s: Statements
  private housekeeping: Housekeeping
  private readonly names: TableNames
  private readonly owned: boolean
  private readonly busyTimeoutMs: number
  private readonly bounds: { maxEntries: number | undefined; maxBytes: number | undefined }
  private readonly onCorrupt: 'throw' | 'rebuild'
  private readonly timer: NodeJS.Timeout | undefined
  private writesSinceSweep = 0
  private closed = false
  /** Reads kept while nothing can have changed them (see {@link ReadCache}); undefined when off. */
  private readCache: ReadCache | undefined
  private readonly readCacheSize: number | undefined
  /** The transaction of `setGuarded`, prepared on first use. */
  private guardedWrite:
    | Transaction<(guard: BackendEntry<Uint8Array>, entry: BackendEntry<Uint8Array>) => void>
    | undefined
  /**
   * Identity (device and inode) of the file we opened: a rebuild never deletes a file another process
   * already rebuilt, and a path that names another file (or none) is reopened.
   */
  private fileIdentity: string | undefined
  /** Whether to follow `path` (see `fileCheckInterval`): only for a file this backend opened itself. */
  private readonly followsPath: boolean
  private readonly fileCheckMs: number
  /** When the next read checks the file (writes always do). */
  private nextFileCheck = 0

  constructor(options: SqliteBackendOptions = {}) {
    checkOptions(options, OPTION_NAMES, 'new SqliteBackend()')
    const table = options.table ?? 'rapide_cache'
    if (!TABLE_NAME.test(table)) {
      throw new InvalidOptionError(
        `SqliteBackend: table "${table}" must be letters, digits and _ (at most 63)`,
      )
    }
    this.names = tableNames(table)
    this.bounds = {
      maxEntries: positiveInteger(options.maxEntries, 'maxEntries'),
      maxBytes: positiveInteger(options.maxBytes, 'maxBytes'),
    }
    this.busyTimeoutMs = parseTtl(options.busyTimeout ?? '2s', 'SqliteBackend busyTimeout')
    this.fileCheckMs = parseTtl(options.fileCheckInterval ?? '100ms', 'SqliteBackend fileCheckInterval')
    this.onCorrupt = options.onCorrupt ?? 'throw'
    if (this.onCorrupt !== 'throw' && this.onCorrupt !== 'rebuild') {
      throw new InvalidOptionError(`SqliteBackend: onCorrupt must be 'throw' or 'rebuild'`)
    }
    if (options.database !== undefined) {
      if (options.path !== undefined)
        throw new InvalidOptionError('SqliteBackend: pass `path` or `database`, not both')
      if (this.onCorrupt === 'rebuild') {
        throw new InvalidOptionError(
          "SqliteBackend: onCorrupt 'rebuild' would delete a database you own; it needs `path`",
        )
      }
      this.owned = false
      this.db = options.database
      this.path = options.database.name
      prepareSchema(this.db, this.names)
    } else {
      this.owned = true
      // Absolute once and for all: a later `process.chdir()` must not move the cache to another file.
      const path = options.path ?? defaultDatabasePath()
      this.path = path === ':memory:' || path === '' ? path : resolve(path)
      this.db = this.open()
    }
    const inMemory = this.db.memory
    this.capabilities = { sync: true, persistent: !inMemory, shared: !inMemory, inProcessValues: false }
    this.followsPath = this.owned && !inMemory
    this.nextFileCheck = Date.now() + this.fileCheckMs
    this.storeId = inMemory ? undefined : `sqlite:${resolvedFile(this.path)}#${table}`
    this.s = this.statements(this.db)
    const cacheOption = options.readCache ?? (options.database === undefined ? DEFAULT_READ_CACHE : false)
    this.readCacheSize = cacheOption === false ? undefined : positiveInteger(cacheOption, 'readCache')
    this.readCache = this.newReadCache()
    this.housekeeping = new Housekeeping(this.db, this.names, this.bounds, () => this.readCache?.clear())
    const interval = options.sweepInterval ?? '30s'
    if (interval !== false) {
      const ms = parseTtl(interval, 'SqliteBackend sweepInterval')
      this.timer = setInterval(() => {
        // A quiet process follows a replaced file too, so it never sweeps a file nobody else sees.
        if (this.followsPath && !this.closed) {
          try {
            this.followPath(Date.now())
          } catch (error) {
            process.emitWarning(`rapide sqlite: reopening ${this.path} failed: ${describe(error)}`)
            return
          }
        }
        this.sweepSoon()
      }, ms)
      this.timer.unref()
    }
  }

  // ---- the contract ---------------------------------------------------------------------------

  get(key: string): Uint8Array | undefined {
    return this.guard(() =>
      this.readCache === undefined
        ? (this.s.get.get(key, Date.now()) as Buffer | undefined)
        : this.readMany([key])[0],
    )
  }

  getMany(keys: readonly string[]): (Uint8Array | undefined)[] {
    return this.guard(() => this.readMany(keys))
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): void {
    this.mutate(() => this.write(key, value, ttlMs, Date.now(), RowKind.Value))
  }

  setMany(entries: readonly BackendEntry<Uint8Array>[]): void {
    this.mutate(() => this.writeMany(entries))
  }

  delete(key: string): boolean {
    return this.mutate(() => this.remove(key, Date.now()))
  }

  deleteMany(keys: readonly string[]): number {
    return this.mutate(() => this.removeMany(keys))
  }

  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): boolean {
    return this.mutate(() => {
      const now = Date.now()
      const stored =
        this.s.setNx.run(key, blob(value), expiresAt(now, ttlMs), now, RowKind.Bookkeeping, now).changes === 1
      if (stored) this.wrote(value.byteLength)
      return stored
    })
  }

  /**
   * Creates `guard` if absent and stores `entry`, in one transaction (one commit per miss instead of two).
   * The entry is skipped when the guard already holds another value: no reader would accept it. A guard
   * already holding the value counts as written now for `reclaimPrefix` (the new entry depends on it).
   * Both rows are values to eviction: the guard is the entry's own generation, and goes with it.
   */
  setGuarded(guard: BackendEntry<Uint8Array>, entry: BackendEntry<Uint8Array>): void {
    this.mutate(() => {
      this.guardedWrite ??= this.db.transaction(
        (g: BackendEntry<Uint8Array>, e: BackendEntry<Uint8Array>) => {
          const now = Date.now()
          const created =
            this.s.setNx.run(g.key, blob(g.value), expiresAt(now, g.ttlMs), now, RowKind.Value, now)
              .changes === 1
          if (created) this.wrote(g.value.byteLength)
          // A guard found holding the same value is written again as far as reclaiming goes: the entry
          // stored now depends on it, so a `reclaimPrefix` made before now must not take it.
          else if (this.s.touchIfEquals.run(now, g.key, blob(g.value), now).changes === 0) return
          this.write(e.key, e.value, e.ttlMs, now, RowKind.Value)
        },
      )
      this.guardedWrite.immediate(guard, entry)
    })
  }

  deleteIfEquals(key: string, value: Uint8Array): boolean {
    return this.mutate(() => this.s.deleteIfEquals.run(key, blob(value), Date.now()).changes === 1)
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    return this.mutate(() => this.increment(key, delta, ttlMs))
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    return this.mutate(() => {
      const now = Date.now()
      return this.s.expire.run(expiresAt(now, ttlMs), key, now).changes === 1
    })
  }

  keys(prefix: string): string[] {
    return this.guard(() => {
      const end = prefixEnd(prefix)
      const now = Date.now()
      return (
        end === undefined ? this.s.keysOpen.all(prefix, now) : this.s.keysRange.all(prefix, end, now)
      ) as string[]
    })
  }

  deletePrefix(prefix: string): number {
    return this.mutate(() => this.removePrefix(prefix))
  }

  /**
   * Records that results under `prefix` written before now are dead; a background sweep removes them
   * soon after, in short steps. Rows written from now on are kept (their write time is not earlier).
   */
  reclaimPrefix(prefix: string): void {
    this.mutate(() => this.s.markDead.run(prefix, Date.now()))
    this.sweepSoon()
  }

  ping(): boolean {
    return this.guard(() => this.s.ping.get() === 1)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.owned && this.db.open) this.db.close()
  }

  // ---- beyond the contract ----------------------------------------------------------------------

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
    return this.db
  }

  // ---- operations -------------------------------------------------------------------------------

  private readMany(keys: readonly string[]): (Uint8Array | undefined)[] {
    const now = Date.now()
    const cache = this.readCache
    if (cache === undefined) return this.fetch(keys, now, undefined)
    cache.begin()
    const out = new Array<Buffer | undefined>(keys.length)
    const missing: string[] = []
    const positions: number[] = []
    for (let i = 0; i < keys.length; i++) {
      const kept = cache.lookup(keys[i]!, now)
      if (kept !== undefined) out[i] = kept.value
      else {
        missing.push(keys[i]!)
        positions.push(i)
      }
    }
    if (missing.length === 0) return out
    const fetched = this.fetch(missing, now, cache)
    for (let j = 0; j < fetched.length; j++) out[positions[j]!] = fetched[j]
    return out
  }

  /** Reads keys from the file (absent and expired ones as `undefined`), keeping each in `cache` if given. */
  private fetch(keys: readonly string[], now: number, cache: ReadCache | undefined): (Buffer | undefined)[] {
    const out = new Array<Buffer | undefined>(keys.length)
    if (keys.length <= JOINED_READ_MAX) {
      // The hit path (an entry and its three generations): one row, two columns (value, expiry) per key.
      const parameters: unknown[] = []
      for (const key of keys) parameters.push(key, now)
      const row = this.joinedRead(keys.length).get(parameters) as (Buffer | number | null)[]
      for (let i = 0; i < keys.length; i++) {
        const value = (row[2 * i] as Buffer | null) ?? undefined
        out[i] = value
        cache?.remember(keys[i]!, value, value === undefined ? null : (row[2 * i + 1] as number | null))
      }
      return out
    }
    for (let start = 0; start < keys.length; start += BATCH) {
      const slice = keys.slice(start, start + BATCH)
      const rows = this.inListRead(slice.length).all(...slice, now) as [string, Buffer, number | null][]
      const found = new Map<string, [Buffer, number | null]>()
      for (const [key, value, expiry] of rows) found.set(key, [value, expiry])
      for (let i = 0; i < slice.length; i++) {
        const hit = found.get(slice[i]!)
        out[start + i] = hit?.[0]
        cache?.remember(slice[i]!, hit?.[0], hit === undefined ? null : hit[1])
      }
    }
    return out
  }

  /**
   * `SELECT k0.value, k0.expires_at, k1.value, ... FROM (SELECT 1) LEFT JOIN t k0 ON k0.key = ? ...`: one
   * primary-key probe per key and a single row back, measured a third cheaper than `key IN (...)` (which returns a row per
   * key with its key, to be matched in JavaScript). Absent and expired keys read as NULL.
   */
  private joinedRead(count: number): Statement {
    let statement = this.s.joinedReads[count]
    if (statement === undefined) {
      const t = `"${this.names.entries}"`
      const columns: string[] = []
      const joins: string[] = []
      for (let i = 0; i < count; i++) {
        columns.push(`k${i}.value`, `k${i}.expires_at`)
        joins.push(
          `LEFT JOIN ${t} k${i} ON k${i}.key = ? AND (k${i}.expires_at IS NULL OR k${i}.expires_at > ?)`,
        )
      }
      statement = this.db.prepare(`SELECT ${columns.join(', ')} FROM (SELECT 1) ${joins.join(' ')}`).raw()
      this.s.joinedReads[count] = statement
    }
    return statement
  }

  private inListRead(count: number): Statement {
    let statement = this.s.inListReads[count]
    if (statement === undefined) {
      const placeholders = new Array(count).fill('?').join(', ')
      statement = this.db
        .prepare(
          `SELECT key, value, expires_at FROM "${this.names.entries}" WHERE key IN (${placeholders}) AND (expires_at IS NULL OR expires_at > ?)`,
        )
        .raw()
      this.s.inListReads[count] = statement
    }
    return statement
  }

  private write(key: string, value: Uint8Array, ttlMs: number | undefined, now: number, kind: RowKind): void {
    this.s.set.run(key, blob(value), expiresAt(now, ttlMs), now, kind)
    this.wrote(value.byteLength)
  }

  /** The core marks what it writes as bookkeeping (generations, invalidation markers); the rest are values. */
  private writeMany(entries: readonly BackendEntry<Uint8Array>[]): void {
    this.transaction(() => {
      const now = Date.now()
      for (const entry of entries) {
        const kind = entry.bookkeeping === true ? RowKind.Bookkeeping : RowKind.Value
        this.write(entry.key, entry.value, entry.ttlMs, now, kind)
      }
    })
  }

  private remove(key: string, now: number): boolean {
    const row = this.s.delete.get(key) as { expires_at: number | null } | undefined
    return row !== undefined && (row.expires_at === null || row.expires_at > now)
  }

  private removeMany(keys: readonly string[]): number {
    return this.transaction(() => {
      const now = Date.now()
      let removed = 0
      for (const key of keys) if (this.remove(key, now)) removed++
      return removed
    })
  }

  private increment(key: string, delta: number, ttlMs: number | undefined): number {
    return this.transaction(() => {
      const now = Date.now()
      const row = this.s.readCounter.get(key, now) as { value: Buffer; expires_at: number | null } | undefined
      let current = 0
      let expiry = expiresAt(now, ttlMs)
      if (row !== undefined) {
        const text = row.value.toString('latin1')
        if (!/^-?\d{1,16}$/.test(text)) throw new NotACounterError(key)
        current = Number(text)
        expiry = row.expires_at
      }
      // Past 2^53 a double cannot hold every integer: increments would be lost. Both operands safe, the
      // sum is exact whenever it is safe, and rounds to an unsafe number whenever it is not. Thrown
      // inside the transaction, so the counter is left as it was.
      const next = current + delta
      if (!Number.isSafeInteger(current) || !Number.isSafeInteger(next)) throw new CounterOverflowError(key)
      this.s.set.run(key, Buffer.from(String(next), 'latin1'), expiry, now, RowKind.Bookkeeping)
      return next
    })
  }

  private removePrefix(prefix: string): number {
    const end = prefixEnd(prefix)
    return this.transaction(() => {
      const now = Date.now()
      const live = (
        end === undefined ? this.s.countOpen.get(prefix, now) : this.s.countRange.get(prefix, end, now)
      ) as number
      if (end === undefined) this.s.deleteOpen.run(prefix)
      else this.s.deleteRange.run(prefix, end)
      return live
    })
  }

  /** Runs `work` in a `BEGIN IMMEDIATE` transaction: it takes the write lock first, so it waits (bounded) instead of failing on contention. */
  private transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate()
  }

  private wrote(bytes: number): void {
    this.housekeeping.noteWrite(bytes)
    if (++this.writesSinceSweep >= WRITES_PER_SWEEP) this.sweepSoon()
  }

  private sweepSoon(): void {
    if (this.closed) return
    this.writesSinceSweep = 0
    this.housekeeping.sweepInBackground((error) => {
      // Runs on an event-loop turn of its own: nothing may be thrown from here (it would crash the process).
      try {
        if (isCorruption(error) && this.onCorrupt === 'rebuild' && !this.closed) {
          this.rebuild(error)
          return
        }
      } catch (failure) {
        error = failure
      }
      process.emitWarning(`rapide sqlite: a background sweep of ${this.path} failed: ${describe(error)}`)
    })
  }

  // ---- opening, corruption, closing ------------------------------------------------------------------

  /** Opens `path`; a corrupt file is refused, or with `onCorrupt: 'rebuild'` deleted and opened anew once. */
  private open(): Database {
    if (this.path !== ':memory:' && this.path !== '') mkdirSync(dirname(this.path), { recursive: true })
    try {
      return this.openFile()
    } catch (error) {
      if (!isCorruption(error)) throw error
      if (this.onCorrupt === 'throw') throw this.corruptError(error)
      warnRebuild(this.path, error)
      removeDatabaseFiles(this.path, this.fileIdentity)
      return this.openFile()
    }
  }

  private openFile(): Database {
    const db = openDatabase(loadDriver(), this.path, { timeout: this.busyTimeoutMs })
    try {
      this.fileIdentity = identity(this.path)
      if (!db.memory) {
        this.enableWal(db)
        // WAL + NORMAL survives a crashed process (only a power loss can drop the last commits, fine for a cache).
        db.pragma('synchronous = NORMAL')
      }
      prepareSchema(db, this.names)
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
    const deadline = Date.now() + this.busyTimeoutMs
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

  private statements(db: Database): Statements {
    const t = `"${this.names.entries}"`
    const live = '(expires_at IS NULL OR expires_at > ?)'
    return {
      get: db.prepare(`SELECT value FROM ${t} WHERE key = ? AND ${live}`).pluck(),
      joinedReads: [],
      inListReads: [],
      // A row keeps the highest kind it was ever written with: the core may rewrite a generation with a
      // plain set (an invalidation of one function), and it must stay bookkeeping to eviction.
      set: db.prepare(
        `INSERT INTO ${t} (key, value, expires_at, written_at, kind) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
           written_at = excluded.written_at, kind = max(kind, excluded.kind)`,
      ),
      delete: db.prepare(`DELETE FROM ${t} WHERE key = ? RETURNING expires_at`),
      // One statement: it takes the write lock before reading, so it is atomic across processes.
      setNx: db.prepare(
        `INSERT INTO ${t} (key, value, expires_at, written_at, kind) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
           written_at = excluded.written_at, kind = excluded.kind
         WHERE expires_at IS NOT NULL AND expires_at <= ?`,
      ),
      deleteIfEquals: db.prepare(`DELETE FROM ${t} WHERE key = ? AND value = ? AND ${live}`),
      touchIfEquals: db.prepare(`UPDATE ${t} SET written_at = ? WHERE key = ? AND value = ? AND ${live}`),
      readCounter: db.prepare(`SELECT value, expires_at FROM ${t} WHERE key = ? AND ${live}`),
      expire: db.prepare(`UPDATE ${t} SET expires_at = ? WHERE key = ? AND ${live}`),
      keysRange: db.prepare(`SELECT key FROM ${t} WHERE key >= ? AND key < ? AND ${live}`).pluck(),
      keysOpen: db.prepare(`SELECT key FROM ${t} WHERE key >= ? AND ${live}`).pluck(),
      countRange: db.prepare(`SELECT count(*) FROM ${t} WHERE key >= ? AND key < ? AND ${live}`).pluck(),
      countOpen: db.prepare(`SELECT count(*) FROM ${t} WHERE key >= ? AND ${live}`).pluck(),
      deleteRange: db.prepare(`DELETE FROM ${t} WHERE key >= ? AND key < ?`),
      deleteOpen: db.prepare(`DELETE FROM ${t} WHERE key >= ?`),
      markDead: db.prepare(
        `INSERT INTO "${this.names.reclaims}" (prefix, dead_before) VALUES (?, ?)
         ON CONFLICT (prefix) DO UPDATE SET dead_before = max(dead_before, excluded.dead_before)`,
      ),
      ping: db.prepare('SELECT 1').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    }
  }

  private newReadCache(): ReadCache | undefined {
    if (this.readCacheSize === undefined) return undefined
    const version = this.s.dataVersion
    return new ReadCache(this.readCacheSize, () => version.get())
  }

  /**
   * A write: runs under the guard, then drops the read cache. This connection's own commits do not move
   * the data version, so the cache must hear of them here, whatever the write and however it ended.
   */
  private mutate<T>(work: () => T): T {
    try {
      return this.guard(work, true)
    } finally {
      this.readCache?.clear()
    }
  }

  /**
   * Every operation runs here. A write first checks that `path` still names the open file, a read does so
   * every `fileCheckInterval` (see {@link followPath}). Corruption becomes a clear error, or with
   * `onCorrupt: 'rebuild'` an empty cache on which the operation runs once more (`work` reads the
   * statements anew). Anything else (a busy timeout, a full disk) is thrown for the core to report and handle.
   */
  private guard<T>(work: () => T, write = false): T {
    if (this.closed) throw new ClosedError(`SQLite backend (${this.path})`)
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
      if (this.onCorrupt === 'throw') throw this.corruptError(error)
      this.rebuild(error)
      return work()
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
    this.nextFileCheck = now + this.fileCheckMs
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
    if (!this.owned || this.db.memory) throw error
    warnRebuild(this.path, error)
    if (this.db.open) this.db.close()
    removeDatabaseFiles(this.path, this.fileIdentity)
    this.replaceConnection()
  }

  /** Opens `path` anew; the statements, the read cache and the housekeeping follow the new connection. */
  private replaceConnection(): void {
    if (this.db.open) this.db.close()
    try {
      this.db = this.open()
    } catch (error) {
      // Unknown: the next operation tries again instead of using the closed connection.
      this.fileIdentity = undefined
      throw error
    }
    this.s = this.statements(this.db)
    this.guardedWrite = undefined
    this.readCache = this.newReadCache()
    this.housekeeping = new Housekeeping(this.db, this.names, this.bounds, () => this.readCache?.clear())
  }

  private corruptError(error: unknown): BackendUnavailableError {
    return new BackendUnavailableError(
      `${this.path} is not a usable SQLite database (${describe(error)}). Delete it, choose another \`path\`, ` +
        "or pass `onCorrupt: 'rebuild'` to let the cache start empty.",
      error,
    )
  }
}

function blob(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

function expiresAt(now: number, ttlMs: number | undefined): number | null {
  return ttlMs === undefined ? null : Math.ceil(now + ttlMs)
}

function positiveInteger(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionError(`SqliteBackend: ${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** What {@link identity} says of a path that names no file. */
const MISSING = 'missing'

/** The device and inode `path` names, {@link MISSING}, or `undefined` when it cannot be told (no permission). */
function identity(path: string): string | undefined {
  try {
    const stats = statSync(path)
    return `${stats.dev}:${stats.ino}`
  } catch (error) {
    const code = (error as { code?: unknown }).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? MISSING : undefined
  }
}

/** The absolute path of the database file, through symbolic links when it exists. */
function resolvedFile(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

/**
 * Deletes a corrupt database, only if `path` still names the file we opened: another process may have
 * rebuilt it already, and its new file must stay (it is checked again right before each step, which
 * narrows the race to a few system calls). The journal files go first and the database last, so a
 * process opening `path` meanwhile finds the old database (corrupt: it rebuilds too) or none, rather than
 * a new database beside the old write-ahead log. Processes still using the old file notice it is gone
 * within their `fileCheckInterval` and reopen.
 */
function removeDatabaseFiles(path: string, opened: string | undefined): void {
  if (opened === undefined || opened === MISSING) return
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (identity(path) !== opened) return
    rmSync(path + suffix, { force: true })
  }
  if (identity(path) === opened) rmSync(path, { force: true })
}

function warnRebuild(path: string, error: unknown): void {
  process.emitWarning(`rapide sqlite: ${path} is corrupt (${describe(error)}); rebuilding an empty cache`, {
    code: 'RAPIDE_SQLITE_REBUILT',
  })
}
