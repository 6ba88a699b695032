import type { Database, Statement } from 'better-sqlite3'
import type { TableNames } from './schema.js'

/** The condition every read adds: an expired row reads as absent, whether or not a sweep removed it yet. */
const LIVE = '(expires_at IS NULL OR expires_at > ?)'

/**
 * The prepared statements of one connection, and all the SQL of the contract's operations (the
 * housekeeping's is in `housekeeping.ts`, the schema's in `schema.ts`). Prepared once per connection:
 * preparing costs more than running, and a replaced connection gets a new set.
 */
export class Statements {
  readonly get: Statement
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
  /** By key count, prepared on first use (see {@link joinedRead}). */
  private readonly joinedReads: Statement[] = []
  /** By key count, prepared on first use (see {@link inListRead}). */
  private readonly inListReads: Statement[] = []
  /** The entries table, quoted. */
  private readonly t: string

  constructor(
    private readonly db: Database,
    names: TableNames,
  ) {
    const t = `"${names.entries}"`
    this.t = t
    this.get = db.prepare(`SELECT value FROM ${t} WHERE key = ? AND ${LIVE}`).pluck()
    // A row keeps the highest kind it was ever written with: the core may rewrite a generation with a
    // plain set (an invalidation of one function), and it must stay bookkeeping to eviction.
    this.set = db.prepare(
      `INSERT INTO ${t} (key, value, expires_at, written_at, kind) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
         written_at = excluded.written_at, kind = max(kind, excluded.kind)`,
    )
    this.delete = db.prepare(`DELETE FROM ${t} WHERE key = ? RETURNING expires_at`)
    // One statement: it takes the write lock before reading, so it is atomic across processes.
    this.setNx = db.prepare(
      `INSERT INTO ${t} (key, value, expires_at, written_at, kind) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
         written_at = excluded.written_at, kind = excluded.kind
       WHERE expires_at IS NOT NULL AND expires_at <= ?`,
    )
    this.deleteIfEquals = db.prepare(`DELETE FROM ${t} WHERE key = ? AND value = ? AND ${LIVE}`)
    this.touchIfEquals = db.prepare(`UPDATE ${t} SET written_at = ? WHERE key = ? AND value = ? AND ${LIVE}`)
    this.readCounter = db.prepare(`SELECT value, expires_at FROM ${t} WHERE key = ? AND ${LIVE}`)
    this.expire = db.prepare(`UPDATE ${t} SET expires_at = ? WHERE key = ? AND ${LIVE}`)
    this.keysRange = db.prepare(`SELECT key FROM ${t} WHERE key >= ? AND key < ? AND ${LIVE}`).pluck()
    this.keysOpen = db.prepare(`SELECT key FROM ${t} WHERE key >= ? AND ${LIVE}`).pluck()
    this.countRange = db.prepare(`SELECT count(*) FROM ${t} WHERE key >= ? AND key < ? AND ${LIVE}`).pluck()
    this.countOpen = db.prepare(`SELECT count(*) FROM ${t} WHERE key >= ? AND ${LIVE}`).pluck()
    this.deleteRange = db.prepare(`DELETE FROM ${t} WHERE key >= ? AND key < ?`)
    this.deleteOpen = db.prepare(`DELETE FROM ${t} WHERE key >= ?`)
    this.markDead = db.prepare(
      `INSERT INTO "${names.reclaims}" (prefix, dead_before) VALUES (?, ?)
       ON CONFLICT (prefix) DO UPDATE SET dead_before = max(dead_before, excluded.dead_before)`,
    )
    this.ping = db.prepare('SELECT 1').pluck()
    this.dataVersion = db.prepare('PRAGMA data_version').pluck()
  }

  /**
   * `SELECT k0.value, k0.expires_at, k1.value, ... FROM (SELECT 1) LEFT JOIN t k0 ON k0.key = ? ...` for
   * `count` keys, bound as `key, now` pairs: one primary-key probe per key and a single row back, measured
   * a third cheaper than `key IN (...)` (which returns a row per key with its key, to be matched in
   * JavaScript). Absent and expired keys read as NULL.
   */
  joinedRead(count: number): Statement {
    let statement = this.joinedReads[count]
    if (statement === undefined) {
      const columns: string[] = []
      const joins: string[] = []
      for (let i = 0; i < count; i++) {
        columns.push(`k${i}.value`, `k${i}.expires_at`)
        joins.push(
          `LEFT JOIN ${this.t} k${i} ON k${i}.key = ? AND (k${i}.expires_at IS NULL OR k${i}.expires_at > ?)`,
        )
      }
      statement = this.db.prepare(`SELECT ${columns.join(', ')} FROM (SELECT 1) ${joins.join(' ')}`).raw()
      this.joinedReads[count] = statement
    }
    return statement
  }

  /** `SELECT key, value, expires_at ... WHERE key IN (?, ...)` for `count` keys then `now`: rows of the live keys only. */
  inListRead(count: number): Statement {
    let statement = this.inListReads[count]
    if (statement === undefined) {
      const placeholders = new Array(count).fill('?').join(', ')
      statement = this.db
        .prepare(`SELECT key, value, expires_at FROM ${this.t} WHERE key IN (${placeholders}) AND ${LIVE}`)
        .raw()
      this.inListReads[count] = statement
    }
    return statement
  }
}
