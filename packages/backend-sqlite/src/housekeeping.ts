import type { Database, Statement } from 'better-sqlite3'
import { prefixEnd } from './prefix-range.js'
import type { TableNames } from './schema.js'
import { RowKind } from './schema.js'

/** Rows touched per step: each step is one short write transaction, so no caller waits long behind it. */
const CHUNK = 256

/** What one pass removed. */
export interface SweepReport {
  /** Rows past their expiry. */
  expired: number
  /** Results under prefixes that an invalidation made dead (see `reclaimPrefix`). */
  reclaimed: number
  /** Value rows removed to respect `maxEntries` / `maxBytes`, oldest written first. */
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
  private readonly deleteExpired: Statement
  private readonly listReclaims: Statement
  private readonly reclaimRange: Statement
  private readonly reclaimOpen: Statement
  private readonly forgetReclaim: Statement
  private readonly measure: Statement
  private readonly oldest: Statement
  private readonly evictOne: Statement
  private readonly evictChunk: (rows: readonly unknown[][]) => number
  private running = false
  /** Size at the last measure plus what this process wrote since; other processes' writes show up at the next measure. */
  private estimatedEntries = 0
  private estimatedBytes = 0
  private passesSinceMeasure = Number.POSITIVE_INFINITY

  constructor(
    private readonly db: Database,
    names: TableNames,
    private readonly bounds: Bounds,
    /** Told after every step: rows may have gone (the backend drops what it kept from reads). */
    private readonly changed: () => void = () => {},
  ) {
    const t = `"${names.entries}"`
    this.deleteExpired = db.prepare(
      `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ${CHUNK})`,
    )
    this.listReclaims = db.prepare(`SELECT prefix, dead_before FROM "${names.reclaims}" LIMIT 64`).raw()
    this.reclaimRange = db.prepare(
      `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE key >= ? AND key < ? AND written_at < ? LIMIT ${CHUNK})`,
    )
    this.reclaimOpen = db.prepare(
      `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE key >= ? AND written_at < ? LIMIT ${CHUNK})`,
    )
    this.forgetReclaim = db.prepare(`DELETE FROM "${names.reclaims}" WHERE prefix = ? AND dead_before = ?`)
    // The bounds are about values (results, key-value entries). Bookkeeping rows (generations,
    // invalidation markers, locks, counters) are neither counted nor evicted: live results and race-free
    // invalidation depend on them, and a burst of invalidations must not push every value out (see
    // RowKind); they expire, or the core reclaims them after function and domain invalidations.
    this.measure = db
      .prepare(`SELECT count(*), total(length(value)) FROM ${t} WHERE kind = ${RowKind.Value}`)
      .raw()
    this.oldest = db
      .prepare(
        `SELECT key, written_at, length(value) FROM ${t} WHERE kind = ${RowKind.Value} ORDER BY written_at LIMIT ${CHUNK}`,
      )
      .raw()
    // Guarded by written_at and kind: a row rewritten since it was picked (young again, or now a marker)
    // stays.
    this.evictOne = db.prepare(
      `DELETE FROM ${t} WHERE key = ? AND written_at = ? AND kind = ${RowKind.Value}`,
    )
    this.evictChunk = db.transaction((rows: readonly unknown[][]) => {
      let removed = 0
      for (const [key, writtenAt] of rows) removed += this.evictOne.run(key, writtenAt).changes
      return removed
    }).immediate as (rows: readonly unknown[][]) => number
  }

  /** Counts a write of this process towards the size estimate. */
  noteWrite(bytes: number): void {
    this.estimatedEntries++
    this.estimatedBytes += bytes
  }

  /** Runs a whole pass now, synchronously. */
  sweep(now: number = Date.now()): SweepReport {
    const report: SweepReport = { expired: 0, reclaimed: 0, evicted: 0 }
    try {
      for (const step of this.steps(now, report)) void step
    } finally {
      this.changed()
    }
    return report
  }

  /** Runs a pass in the background, one step per event-loop turn; overlapping requests are merged. */
  sweepInBackground(onError: (error: unknown) => void): void {
    if (this.running) return
    this.running = true
    const steps = this.steps(Date.now(), { expired: 0, reclaimed: 0, evicted: 0 })
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

  private *steps(now: number, report: SweepReport): Generator<void> {
    while (true) {
      const removed = this.deleteExpired.run(now).changes
      report.expired += removed
      if (removed < CHUNK) break
      yield
    }
    for (const [prefix, deadBefore] of this.listReclaims.all() as [string, number][]) {
      const end = prefixEnd(prefix)
      while (true) {
        const removed =
          end === undefined
            ? this.reclaimOpen.run(prefix, deadBefore).changes
            : this.reclaimRange.run(prefix, end, deadBefore).changes
        report.reclaimed += removed
        if (removed < CHUNK) break
        yield
      }
      this.forgetReclaim.run(prefix, deadBefore)
      yield
    }
    yield* this.enforceBounds(report)
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
      const candidates = this.oldest.all() as [string, number, number][]
      if (candidates.length === 0) return
      const picked: [string, number][] = []
      for (const [key, writtenAt, size] of candidates) {
        if (entriesOver <= 0 && bytesOver <= 0) break
        picked.push([key, writtenAt])
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
