import type { Database, Statement } from 'better-sqlite3'
import { guardRowPrefix, Slot } from './key-slots.js'
import { prefixEnd } from './prefix-range.js'
import type { TableNames } from './schema.js'
import { RowKind } from './schema.js'
import { SLOT_COLUMNS } from './statements.js'

/** Rows touched per step: each step is one short write transaction, so no caller waits long behind it. */
const CHUNK = 256

/** Rows a background pass walks for expired keys at least (see `walkExpired`). */
const MIN_WALK = 4 * CHUNK
/** Rows a background pass walks for each write of this process since the last pass. */
const WALK_PER_WRITE = 4

interface WalkStatements {
  readonly windowEnd: Statement
  readonly expireMain: Statement
  readonly expireGuard: Statement
  readonly removeEmpty: Statement
}

/** What one pass removed. */
export interface SweepReport {
  /** Keys past their expiry. */
  expired: number
  /** Keys under prefixes that an invalidation made dead (see `reclaimPrefix`). */
  reclaimed: number
  /** Values removed to respect `maxEntries` / `maxBytes`, oldest written first. */
  evicted: number
}

export interface Bounds {
  readonly maxEntries: number | undefined
  readonly maxBytes: number | undefined
}

/**
 * The background work of a SQLite cache: deleting expired rows, reclaiming invalidated results and
 * enforcing the size bound. Work is cut into steps of {@link CHUNK} rows, each its own short transaction;
 * in the background the steps are spread over event-loop turns, so a pass never stalls calls. Every
 * process sweeps: the work is idempotent, and when there is nothing to do a pass is a few index probes.
 */
export class Housekeeping {
  private readonly listReclaims: Statement
  private readonly forgetReclaim: Statement
  private readonly measure: Statement
  private readonly oldest: Statement
  private readonly evictChunk: (rows: readonly [string, Slot, number][]) => number
  private readonly reclaimChunk: (slot: Slot, prefix: string, deadBefore: number) => number
  private readonly expireWindow: (lower: string | undefined, upper: string | undefined, now: number) => number
  /** By window shape (lower bound or not, upper bound or not), prepared on first use. */
  private readonly walkStatements = new Map<string, WalkStatements>()
  private readonly t: string
  private running = false
  /** Size at the last measure plus what this process wrote since; other processes' writes show up at the next measure. */
  private estimatedEntries = 0
  private estimatedBytes = 0
  private passesSinceMeasure = Number.POSITIVE_INFINITY
  /** Where the expiry walk goes on (the last row it looked at); `undefined`: from the first row. */
  private cursor: string | undefined
  /** Rows the next background pass walks beyond {@link MIN_WALK}: {@link WALK_PER_WRITE} per write since the last. */
  private walkCredit = 0

  constructor(
    private readonly db: Database,
    names: TableNames,
    private readonly bounds: Bounds,
    /** Told after every step: rows may have gone (the backend drops what it kept from reads). */
    private readonly changed: () => void = () => {},
  ) {
    const t = `"${names.entries}"`
    this.t = t
    this.listReclaims = db.prepare(`SELECT prefix, dead_before FROM "${names.reclaims}" LIMIT 64`).raw()
    this.forgetReclaim = db.prepare(`DELETE FROM "${names.reclaims}" WHERE prefix = ? AND dead_before = ?`)
    // Per slot, a chunk of the keys under a dead prefix written before it died: rows holding nothing
    // else are deleted, the others lose that slot.
    const reclaims = SLOT_COLUMNS.map(({ value: v, written: w }, slot) => {
      const other = SLOT_COLUMNS[1 - slot]!.value
      const range = (open: boolean) =>
        `key IN (SELECT key FROM ${t} WHERE key >= ?${open ? '' : ' AND key < ?'} AND ${v} IS NOT NULL AND ${w} < ? LIMIT ${CHUNK})`
      return [false, true].map((open) => [
        db.prepare(`DELETE FROM ${t} WHERE ${range(open)} AND ${other} IS NULL`),
        db.prepare(`UPDATE ${t} SET ${v} = NULL WHERE ${range(open)}`),
      ])
    })
    this.reclaimChunk = db.transaction((slot: Slot, prefix: string, deadBefore: number) => {
      const end = prefixEnd(prefix)
      const [remove, clear] = reclaims[slot]![end === undefined ? 1 : 0]!
      const parameters = end === undefined ? [prefix, deadBefore] : [prefix, end, deadBefore]
      return remove!.run(...parameters).changes + clear!.run(...parameters).changes
    }).immediate as (slot: Slot, prefix: string, deadBefore: number) => number
    this.expireWindow = db.transaction(
      (lower: string | undefined, upper: string | undefined, now: number) => {
        const { expireMain, expireGuard, removeEmpty } = this.walk(lower !== undefined, upper !== undefined)
        const bounds = [lower, upper].filter((bound) => bound !== undefined)
        const expired = expireMain.run(...bounds, now).changes + expireGuard.run(...bounds, now).changes
        removeEmpty.run(...bounds)
        return expired
      },
    ).immediate as (lower: string | undefined, upper: string | undefined, now: number) => number
    // The bounds are about values (results, key-value entries). Bookkeeping (generations, invalidation
    // markers, locks, counters) is neither counted nor evicted: live results and race-free invalidation
    // depend on it, and a burst of invalidations must not push every value out (see RowKind); it
    // expires, or the core reclaims it after function and domain invalidations.
    const value = (slot: Slot) => {
      const { value: v, kind: k } = SLOT_COLUMNS[slot]!
      return `${v} IS NOT NULL AND ${k} = ${RowKind.Value}`
    }
    this.measure = db
      .prepare(
        `SELECT total(${value(Slot.Main)}) + total(${value(Slot.Guard)}),
           total(CASE WHEN ${value(Slot.Main)} THEN length(value) END) + total(CASE WHEN ${value(Slot.Guard)} THEN length(gvalue) END)
         FROM ${t}`,
      )
      .raw()
    this.oldest = db
      .prepare(
        `SELECT key, ${Slot.Main}, written_at, length(value) FROM ${t} WHERE ${value(Slot.Main)}
         UNION ALL SELECT key, ${Slot.Guard}, gwritten_at, length(gvalue) FROM ${t} WHERE ${value(Slot.Guard)}
         ORDER BY 3, 1 LIMIT ${CHUNK}`,
      )
      .raw()
    // Ordered by key within one write time, so a result and its own generation (one row) go together.
    // Guarded by the write time and kind: a key rewritten since it was picked (young again, or now a
    // marker) stays.
    const evictOne = SLOT_COLUMNS.map(({ value: v, written: w }, slot) =>
      db.prepare(`UPDATE ${t} SET ${v} = NULL WHERE key = ? AND ${w} = ? AND ${value(slot as Slot)}`),
    )
    const removeIfEmpty = db.prepare(`DELETE FROM ${t} WHERE key = ? AND value IS NULL AND gvalue IS NULL`)
    this.evictChunk = db.transaction((rows: readonly [string, Slot, number][]) => {
      let removed = 0
      for (const [key, slot, writtenAt] of rows) {
        const evicted = evictOne[slot]!.run(key, writtenAt).changes
        if (evicted === 1) removeIfEmpty.run(key)
        removed += evicted
      }
      return removed
    }).immediate as (rows: readonly [string, Slot, number][]) => number
  }

  /** Counts a write of this process towards the size estimate. */
  noteWrite(bytes: number): void {
    this.estimatedEntries++
    this.estimatedBytes += bytes
    this.walkCredit += WALK_PER_WRITE
  }

  /** Runs a whole pass now, synchronously. */
  sweep(now: number = Date.now()): SweepReport {
    const report: SweepReport = { expired: 0, reclaimed: 0, evicted: 0 }
    try {
      for (const step of this.steps(now, report, true)) void step
    } finally {
      this.changed()
    }
    return report
  }

  /** Runs a pass in the background, one step per event-loop turn; overlapping requests are merged. */
  sweepInBackground(onError: (error: unknown) => void): void {
    if (this.running) return
    this.running = true
    const steps = this.steps(Date.now(), { expired: 0, reclaimed: 0, evicted: 0 }, false)
    const next = () => {
      try {
        const done = !this.db.open || steps.next().done
        this.changed()
        if (done) {
          this.running = false
          return
        }
      } catch (error) {
        this.running = false
        onError(error)
        return
      }
      setImmediate(next).unref()
    }
    setImmediate(next).unref()
  }

  private *steps(now: number, report: SweepReport, whole: boolean): Generator<void> {
    yield* this.walkExpired(now, report, whole)
    for (const [prefix, deadBefore] of this.listReclaims.all() as [string, number][]) {
      for (const [slot, rows] of [
        [Slot.Main, prefix],
        [Slot.Guard, guardRowPrefix(prefix)],
      ] as const) {
        if (rows === undefined) continue
        while (true) {
          const removed = this.reclaimChunk(slot, rows, deadBefore)
          report.reclaimed += removed
          if (removed < CHUNK) break
          yield
        }
      }
      this.forgetReclaim.run(prefix, deadBefore)
      yield
    }
    yield* this.enforceBounds(report)
  }

  /**
   * Removes expired keys by walking the primary key from where the last pass stopped, {@link CHUNK} rows
   * a step: no expiry index, which every write would have to update (it cost a miss a third of its
   * time). A whole pass ({@link sweep}) walks every row; a background one {@link MIN_WALK} rows plus
   * {@link WALK_PER_WRITE} per write since the last, so the walk goes round the table faster than the
   * writes of this process can fill it with rows that will expire. Reads never return an expired key
   * meanwhile: only the file's size waits for the walk.
   */
  private *walkExpired(now: number, report: SweepReport, whole: boolean): Generator<void> {
    let budget = whole ? Number.POSITIVE_INFINITY : MIN_WALK + this.walkCredit
    this.walkCredit = 0
    if (whole) this.cursor = undefined
    while (budget > 0) {
      const lower = this.cursor
      const upper = (this.walk(lower !== undefined, false).windowEnd.get(
        ...(lower === undefined ? [] : [lower]),
      ) ?? undefined) as string | undefined
      report.expired += this.expireWindow(lower, upper, now)
      this.cursor = upper
      budget -= CHUNK
      // Past the last row: the next pass starts again from the first.
      if (upper === undefined) return
      yield
    }
  }

  /** The statements of a walk window `(lower, upper]`, each bound missing when not given. */
  private walk(lower: boolean, upper: boolean): WalkStatements {
    const shape = `${lower}:${upper}`
    let statements = this.walkStatements.get(shape)
    if (statements === undefined) {
      const { db, t } = this
      const range = [lower ? 'key > ?' : '1', upper ? 'key <= ?' : '1'].join(' AND ')
      statements = {
        windowEnd: db
          .prepare(
            `SELECT key FROM ${t} WHERE ${lower ? 'key > ?' : '1'} ORDER BY key LIMIT 1 OFFSET ${CHUNK - 1}`,
          )
          .pluck(),
        expireMain: db.prepare(
          `UPDATE ${t} SET value = NULL WHERE ${range} AND value IS NOT NULL AND expires_at <= ?`,
        ),
        expireGuard: db.prepare(
          `UPDATE ${t} SET gvalue = NULL WHERE ${range} AND gvalue IS NOT NULL AND gexpires_at <= ?`,
        ),
        removeEmpty: db.prepare(`DELETE FROM ${t} WHERE ${range} AND value IS NULL AND gvalue IS NULL`),
      }
      this.walkStatements.set(shape, statements)
    }
    return statements
  }

  /**
   * Evicts until the values are back under 90% of their bound (so it does not evict on every pass),
   * oldest written first. Bookkeeping rows are not counted and not evicted.
   */
  private *enforceBounds(report: SweepReport): Generator<void> {
    const { maxEntries, maxBytes } = this.bounds
    if (maxEntries === undefined && maxBytes === undefined) return
    // Counting is a scan of the table: done when the estimate nears a bound, or every tenth pass.
    const near =
      (maxEntries !== undefined && this.estimatedEntries > maxEntries * 0.95) ||
      (maxBytes !== undefined && this.estimatedBytes > maxBytes * 0.95)
    if (!near && ++this.passesSinceMeasure < 10) return
    const [count, bytes] = this.measure.get() as [number, number]
    this.passesSinceMeasure = 0
    this.estimatedEntries = count
    this.estimatedBytes = bytes
    let entriesOver =
      maxEntries !== undefined && count > maxEntries ? count - Math.floor(maxEntries * 0.9) : 0
    let bytesOver = maxBytes !== undefined && bytes > maxBytes ? bytes - Math.floor(maxBytes * 0.9) : 0
    while (entriesOver > 0 || bytesOver > 0) {
      const candidates = this.oldest.all() as [string, Slot, number, number][]
      if (candidates.length === 0) return
      const picked: [string, Slot, number][] = []
      for (const [key, slot, writtenAt, size] of candidates) {
        if (entriesOver <= 0 && bytesOver <= 0) break
        picked.push([key, slot, writtenAt])
        entriesOver--
        bytesOver -= size
        this.estimatedBytes -= size
      }
      const evicted = this.evictChunk(picked)
      report.evicted += evicted
      this.estimatedEntries -= evicted
      yield
    }
  }
}
