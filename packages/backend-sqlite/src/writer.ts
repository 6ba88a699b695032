import { type BackendEntry, CounterOverflowError, NotACounterError } from '@rapide/core'
import type { Database, Transaction } from 'better-sqlite3'
import { guardRowPrefix, locate, Slot } from './key-slots.js'
import { prefixEnd } from './prefix-range.js'
import { RowKind } from './schema.js'
import type { Statements } from './statements.js'

type Entry = BackendEntry<Uint8Array>

/**
 * Every write of one connection. Each row records when it was written (the eviction order, and what
 * `reclaimPrefix` compares with) and its {@link RowKind}. A read-modify-write runs in `BEGIN IMMEDIATE`,
 * which takes the write lock before reading: a deferred transaction would instead fail at once with
 * `SQLITE_BUSY` when another process wrote in between, where this one waits (within the busy timeout).
 */
export class Writer {
  /** The transaction of {@link setGuarded} for a guard that is not its entry's own slot, built once per connection. */
  private readonly guardedWrite: Transaction<(guard: Entry, entry: Entry) => void>

  constructor(
    private readonly db: Database,
    private readonly statements: Statements,
    /** Told of every row this connection writes, with its size (housekeeping estimates and schedules from it). */
    private readonly wrote: (bytes: number) => void,
  ) {
    this.guardedWrite = db.transaction((guard: Entry, entry: Entry) => {
      const at = locate(guard.key)
      const { setNx, touchIfEquals } = this.statements.slots[at.slot]
      const now = Date.now()
      const created =
        setNx.run(at.row, blob(guard.value), expiresAt(now, guard.ttlMs), now, RowKind.Value, now).changes ===
        1
      if (created) this.wrote(guard.value.byteLength)
      // A guard found holding the same value is written again as far as reclaiming goes: the entry
      // stored now depends on it, so a `reclaimPrefix` made before now must not take it.
      else if (touchIfEquals.run(now, at.row, blob(guard.value), now).changes === 0) return
      this.write(entry.key, entry.value, entry.ttlMs, now, RowKind.Value)
    })
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): void {
    this.write(key, value, ttlMs, Date.now(), RowKind.Value)
  }

  /** In one transaction. The core marks what it writes as bookkeeping (generations, invalidation markers); the rest are values. */
  setMany(entries: readonly Entry[]): void {
    this.transaction(() => {
      const now = Date.now()
      for (const entry of entries) {
        const kind = entry.bookkeeping === true ? RowKind.Bookkeeping : RowKind.Value
        this.write(entry.key, entry.value, entry.ttlMs, now, kind)
      }
    })
  }

  /** Answers whether a live row was removed (an expired one is removed too, but did not exist). */
  delete(key: string): boolean {
    return this.remove(key, Date.now())
  }

  deleteMany(keys: readonly string[]): number {
    return this.transaction(() => {
      const now = Date.now()
      let removed = 0
      for (const key of keys) if (this.remove(key, now)) removed++
      return removed
    })
  }

  /** One statement (an insert that replaces only an expired row), so atomic across processes. */
  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): boolean {
    const now = Date.now()
    const { row, slot } = locate(key)
    const stored =
      this.statements.slots[slot].setNx.run(
        row,
        blob(value),
        expiresAt(now, ttlMs),
        now,
        RowKind.Bookkeeping,
        now,
      ).changes === 1
    if (stored) this.wrote(value.byteLength)
    return stored
  }

  /**
   * Creates `guard` if absent and stores `entry`, in one transaction (one commit per miss instead of two).
   * The entry is skipped when the guard already holds another value: no reader would accept it. A guard
   * already holding the value counts as written now for `reclaimPrefix` (the new entry depends on it).
   * Both are values to eviction: the guard is the entry's own generation, and goes with it. A result and
   * its own generation are one row (see `key-slots.ts`), written by one statement.
   */
  setGuarded(guard: Entry, entry: Entry): void {
    const at = locate(guard.key)
    if (at.slot !== Slot.Guard || at.row !== entry.key) {
      this.guardedWrite.immediate(guard, entry)
      return
    }
    // The usual case, a result and its generation: one row, one statement (atomic by itself).
    const now = Date.now()
    const stored = this.statements.setGuardedRow.run(
      entry.key,
      blob(entry.value),
      expiresAt(now, entry.ttlMs),
      now,
      blob(guard.value),
      expiresAt(now, guard.ttlMs),
      now,
    )
    if (stored.changes === 1) this.wrote(entry.value.byteLength + guard.value.byteLength)
  }

  deleteIfEquals(key: string, value: Uint8Array): boolean {
    const { row, slot } = locate(key)
    const removed = this.statements.slots[slot].deleteIfEquals.run(row, blob(value), Date.now()).changes === 1
    if (removed) this.statements.removeIfEmpty.run(row)
    return removed
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    const at = locate(key)
    return this.transaction(() => {
      const { readCounter, set } = this.statements.slots[at.slot]
      const now = Date.now()
      const row = readCounter.get(at.row, now) as { value: Buffer; expires_at: number | null } | undefined
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
      set.run(at.row, Buffer.from(String(next), 'latin1'), expiry, now, RowKind.Bookkeeping)
      return next
    })
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    const now = Date.now()
    const { row, slot } = locate(key)
    return this.statements.slots[slot].expire.run(expiresAt(now, ttlMs), row, now).changes === 1
  }

  /** Removes the keys under `prefix` in index ranges (both slots); answers how many of them were live. */
  deletePrefix(prefix: string): number {
    const guardPrefix = guardRowPrefix(prefix)
    return this.transaction(() => {
      const now = Date.now()
      let live = 0
      for (const [slot, rows] of [
        [Slot.Main, prefix],
        [Slot.Guard, guardPrefix],
      ] as const) {
        if (rows === undefined) continue
        const { countOpen, countRange, clearOpen, clearRange } = this.statements.slots[slot]
        const end = prefixEnd(rows)
        live += (end === undefined ? countOpen.get(rows, now) : countRange.get(rows, end, now)) as number
        if (end === undefined) clearOpen.run(rows)
        else clearRange.run(rows, end)
        removeEmptyRows(this.statements, rows)
      }
      return live
    })
  }

  /**
   * Records that the rows under `prefix` written before now are dead, for the housekeeping to remove
   * (see `reclaimPrefix`). Rows written from now on are kept: their write time is not earlier.
   */
  markDead(prefix: string): void {
    this.statements.markDead.run(prefix, Date.now())
  }

  private write(key: string, value: Uint8Array, ttlMs: number | undefined, now: number, kind: RowKind): void {
    const { row, slot } = locate(key)
    this.statements.slots[slot].set.run(row, blob(value), expiresAt(now, ttlMs), now, kind)
    this.wrote(value.byteLength)
  }

  private remove(key: string, now: number): boolean {
    const { row, slot } = locate(key)
    const cleared = this.statements.slots[slot].clear.get(row) as { expires_at: number | null } | undefined
    if (cleared === undefined) return false
    this.statements.removeIfEmpty.run(row)
    return cleared.expires_at === null || cleared.expires_at > now
  }

  /** Runs `work` in a `BEGIN IMMEDIATE` transaction (see the class comment). */
  private transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate()
  }
}

/** Deletes the rows under `prefix` that hold no key any more. */
export function removeEmptyRows(statements: Statements, prefix: string): void {
  const end = prefixEnd(prefix)
  if (end === undefined) statements.removeEmptyOpen.run(prefix)
  else statements.removeEmptyRange.run(prefix, end)
}

/** better-sqlite3 binds only a Buffer as a BLOB: a view over the same memory, not a copy. */
function blob(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** Milliseconds since the epoch, rounded up (an entry lives at least its TTL); `null` is no expiry. */
function expiresAt(now: number, ttlMs: number | undefined): number | null {
  return ttlMs === undefined ? null : Math.ceil(now + ttlMs)
}
