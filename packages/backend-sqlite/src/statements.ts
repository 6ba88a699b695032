import type { Database, Statement } from 'better-sqlite3'
import { Slot } from './key-slots.js'
import type { TableNames } from './schema.js'

/** The columns of one slot of a row (see `key-slots.ts`). A slot holds a key while its value is not NULL. */
interface SlotColumns {
  readonly value: string
  readonly expires: string
  readonly written: string
  readonly kind: string
}

export const SLOT_COLUMNS: readonly [SlotColumns, SlotColumns] = [
  { value: 'value', expires: 'expires_at', written: 'written_at', kind: 'kind' },
  { value: 'gvalue', expires: 'gexpires_at', written: 'gwritten_at', kind: 'gkind' },
]

/**
 * The statements of one slot: the contract's single-key operations. A slot is emptied by setting its
 * value to NULL (its other columns are then meaningless), so `delete` can still return the expiry it had.
 */
export class SlotStatements {
  readonly get: Statement
  readonly set: Statement
  readonly clear: Statement
  readonly setNx: Statement
  readonly deleteIfEquals: Statement
  readonly touchIfEquals: Statement
  readonly readCounter: Statement
  readonly expire: Statement
  readonly keysRange: Statement
  readonly keysOpen: Statement
  readonly countRange: Statement
  readonly countOpen: Statement
  readonly clearRange: Statement
  readonly clearOpen: Statement

  constructor(db: Database, t: string, c: SlotColumns) {
    const { value: v, expires: e, written: w, kind: k } = c
    const live = `${v} IS NOT NULL AND (${e} IS NULL OR ${e} > ?)`
    this.get = db.prepare(`SELECT ${v} FROM ${t} WHERE key = ? AND ${live}`).pluck()
    // A key keeps the highest kind it was ever written with: the core may rewrite a generation with a
    // plain set (an invalidation of one function), and it must stay bookkeeping to eviction.
    this.set = db.prepare(
      `INSERT INTO ${t} (key, ${v}, ${e}, ${w}, ${k}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET ${v} = excluded.${v}, ${e} = excluded.${e}, ${w} = excluded.${w},
         ${k} = CASE WHEN ${v} IS NULL THEN excluded.${k} ELSE max(${k}, excluded.${k}) END`,
    )
    this.clear = db.prepare(
      `UPDATE ${t} SET ${v} = NULL WHERE key = ? AND ${v} IS NOT NULL RETURNING ${e} AS expires_at`,
    )
    // One statement: it takes the write lock before reading, so it is atomic across processes.
    this.setNx = db.prepare(
      `INSERT INTO ${t} (key, ${v}, ${e}, ${w}, ${k}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET ${v} = excluded.${v}, ${e} = excluded.${e}, ${w} = excluded.${w},
         ${k} = excluded.${k}
       WHERE ${v} IS NULL OR (${e} IS NOT NULL AND ${e} <= ?)`,
    )
    this.deleteIfEquals = db.prepare(`UPDATE ${t} SET ${v} = NULL WHERE key = ? AND ${v} = ? AND ${live}`)
    this.touchIfEquals = db.prepare(`UPDATE ${t} SET ${w} = ? WHERE key = ? AND ${v} = ? AND ${live}`)
    this.readCounter = db.prepare(
      `SELECT ${v} AS value, ${e} AS expires_at FROM ${t} WHERE key = ? AND ${live}`,
    )
    this.expire = db.prepare(`UPDATE ${t} SET ${e} = ? WHERE key = ? AND ${live}`)
    this.keysRange = db.prepare(`SELECT key FROM ${t} WHERE key >= ? AND key < ? AND ${live}`).pluck()
    this.keysOpen = db.prepare(`SELECT key FROM ${t} WHERE key >= ? AND ${live}`).pluck()
    this.countRange = db.prepare(`SELECT count(*) FROM ${t} WHERE key >= ? AND key < ? AND ${live}`).pluck()
    this.countOpen = db.prepare(`SELECT count(*) FROM ${t} WHERE key >= ? AND ${live}`).pluck()
    this.clearRange = db.prepare(
      `UPDATE ${t} SET ${v} = NULL WHERE key >= ? AND key < ? AND ${v} IS NOT NULL`,
    )
    this.clearOpen = db.prepare(`UPDATE ${t} SET ${v} = NULL WHERE key >= ? AND ${v} IS NOT NULL`)
  }
}

/**
 * The prepared statements of one connection, and all the SQL of the contract's operations (the
 * housekeeping's is in `housekeeping.ts`, the schema's in `schema.ts`). Prepared once per connection:
 * preparing costs more than running, and a replaced connection gets a new set.
 */
export class Statements {
  /** By slot (see `key-slots.ts`). */
  readonly slots: readonly [SlotStatements, SlotStatements]
  /**
   * A result and its generation (the guard slot of the same row) in one statement, bound as key, value,
   * expiry, now, guard, guard expiry, now: creates the guard if
   * the slot is empty or expired, keeps it (and counts it as written now) if it holds the same value,
   * and writes nothing when it holds another value. `changes` is 1 when the result was stored.
   */
  readonly setGuardedRow: Statement
  readonly removeIfEmpty: Statement
  readonly removeEmptyRange: Statement
  readonly removeEmptyOpen: Statement
  readonly markDead: Statement
  readonly ping: Statement
  readonly dataVersion: Statement
  /** By row count, prepared on first use (see {@link joinedRead}). */
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
    this.slots = [
      new SlotStatements(db, t, SLOT_COLUMNS[Slot.Main]),
      new SlotStatements(db, t, SLOT_COLUMNS[Slot.Guard]),
    ]
    // `excluded.gwritten_at` is now.
    const guardFree = '(gvalue IS NULL OR gexpires_at <= excluded.gwritten_at)'
    this.setGuardedRow = db.prepare(
      `INSERT INTO ${t} (key, value, expires_at, written_at, kind, gvalue, gexpires_at, gwritten_at, gkind)
       VALUES (?, ?, ?, ?, 0, ?, ?, ?, 0)
       ON CONFLICT (key) DO UPDATE SET
         value = excluded.value, expires_at = excluded.expires_at, written_at = excluded.written_at,
         kind = CASE WHEN value IS NULL THEN 0 ELSE kind END,
         gvalue = excluded.gvalue, gwritten_at = excluded.gwritten_at,
         gexpires_at = CASE WHEN ${guardFree} THEN excluded.gexpires_at ELSE gexpires_at END,
         gkind = CASE WHEN ${guardFree} THEN 0 ELSE gkind END
       WHERE ${guardFree} OR gvalue = excluded.gvalue`,
    )
    this.removeIfEmpty = db.prepare(`DELETE FROM ${t} WHERE key = ? AND value IS NULL AND gvalue IS NULL`)
    this.removeEmptyRange = db.prepare(
      `DELETE FROM ${t} WHERE key >= ? AND key < ? AND value IS NULL AND gvalue IS NULL`,
    )
    this.removeEmptyOpen = db.prepare(`DELETE FROM ${t} WHERE key >= ? AND value IS NULL AND gvalue IS NULL`)
    this.markDead = db.prepare(
      `INSERT INTO "${names.reclaims}" (prefix, dead_before) VALUES (?, ?)
       ON CONFLICT (prefix) DO UPDATE SET dead_before = max(dead_before, excluded.dead_before)`,
    )
    this.ping = db.prepare('SELECT 1').pluck()
    this.dataVersion = db.prepare('PRAGMA data_version').pluck()
  }

  /**
   * `SELECT k0.value, k0.expires_at, k0.gvalue, k0.gexpires_at, k1.value, ... FROM (SELECT 1) LEFT JOIN t
   * k0 ON k0.key = ? ...` for `count` rows: one primary-key probe per row and a single row back, measured
   * a third cheaper than `key IN (...)` (which returns a row per key with its key, to be matched in
   * JavaScript). A result and its generation are one row: the hit reads three rows for four keys.
   */
  joinedRead(count: number): Statement {
    let statement = this.joinedReads[count]
    if (statement === undefined) {
      const columns: string[] = []
      const joins: string[] = []
      for (let i = 0; i < count; i++) {
        columns.push(`k${i}.value, k${i}.expires_at, k${i}.gvalue, k${i}.gexpires_at`)
        joins.push(`LEFT JOIN ${this.t} k${i} ON k${i}.key = ?`)
      }
      statement = this.db.prepare(`SELECT ${columns.join(', ')} FROM (SELECT 1) ${joins.join(' ')}`).raw()
      this.joinedReads[count] = statement
    }
    return statement
  }

  /** `SELECT key, value, expires_at, gvalue, gexpires_at ... WHERE key IN (?, ...)` for `count` rows. */
  inListRead(count: number): Statement {
    let statement = this.inListReads[count]
    if (statement === undefined) {
      const placeholders = new Array(count).fill('?').join(', ')
      statement = this.db
        .prepare(
          `SELECT key, value, expires_at, gvalue, gexpires_at FROM ${this.t} WHERE key IN (${placeholders})`,
        )
        .raw()
      this.inListReads[count] = statement
    }
    return statement
  }
}
