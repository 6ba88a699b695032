import { type BackendEntry, CounterOverflowError, NotACounterError } from '@rapide/core'
import type { Database, Transaction } from 'better-sqlite3'
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
  /** The transaction of {@link setGuarded}, built once per connection. */
  private readonly guardedWrite: Transaction<(guard: Entry, entry: Entry) => void>

  constructor(
    private readonly db: Database,
    private readonly statements: Statements,
    /** Told of every row this connection writes, with its size (housekeeping estimates and schedules from it). */
    private readonly wrote: (bytes: number) => void,
  ) {
    this.guardedWrite = db.transaction((guard: Entry, entry: Entry) => {
      const { setNx, touchIfEquals } = this.statements
      const now = Date.now()
      const created =
        setNx.run(guard.key, blob(guard.value), expiresAt(now, guard.ttlMs), now, RowKind.Value, now)
          .changes === 1
      if (created) this.wrote(guard.value.byteLength)
      // A guard found holding the same value is written again as far as reclaiming goes: the entry
      // stored now depends on it, so a `reclaimPrefix` made before now must not take it.
      else if (touchIfEquals.run(now, guard.key, blob(guard.value), now).changes === 0) return
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
    const stored =
      this.statements.setNx.run(key, blob(value), expiresAt(now, ttlMs), now, RowKind.Bookkeeping, now)
        .changes === 1
    if (stored) this.wrote(value.byteLength)
    return stored
  }

  /**
   * Creates `guard` if absent and stores `entry`, in one transaction (one commit per miss instead of two).
   * The entry is skipped when the guard already holds another value: no reader would accept it. A guard
   * already holding the value counts as written now for `reclaimPrefix` (the new entry depends on it).
   * Both rows are values to eviction: the guard is the entry's own generation, and goes with it.
   */
  setGuarded(guard: Entry, entry: Entry): void {
    this.guardedWrite.immediate(guard, entry)
  }

  deleteIfEquals(key: string, value: Uint8Array): boolean {
    return this.statements.deleteIfEquals.run(key, blob(value), Date.now()).changes === 1
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    return this.transaction(() => {
      const { readCounter, set } = this.statements
      const now = Date.now()
      const row = readCounter.get(key, now) as { value: Buffer; expires_at: number | null } | undefined
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
      set.run(key, Buffer.from(String(next), 'latin1'), expiry, now, RowKind.Bookkeeping)
      return next
    })
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    const now = Date.now()
    return this.statements.expire.run(expiresAt(now, ttlMs), key, now).changes === 1
  }

  /** Removes the rows under `prefix` in an index range; answers how many of them were live. */
  deletePrefix(prefix: string): number {
    const end = prefixEnd(prefix)
    return this.transaction(() => {
      const { countOpen, countRange, deleteOpen, deleteRange } = this.statements
      const now = Date.now()
      const live = (
        end === undefined ? countOpen.get(prefix, now) : countRange.get(prefix, end, now)
      ) as number
      if (end === undefined) deleteOpen.run(prefix)
      else deleteRange.run(prefix, end)
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
    this.statements.set.run(key, blob(value), expiresAt(now, ttlMs), now, kind)
    this.wrote(value.byteLength)
  }

  private remove(key: string, now: number): boolean {
    const row = this.statements.delete.get(key) as { expires_at: number | null } | undefined
    return row !== undefined && (row.expires_at === null || row.expires_at > now)
  }

  /** Runs `work` in a `BEGIN IMMEDIATE` transaction (see the class comment). */
  private transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate()
  }
}

/** better-sqlite3 binds only a Buffer as a BLOB: a view over the same memory, not a copy. */
function blob(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** Milliseconds since the epoch, rounded up (an entry lives at least its TTL); `null` is no expiry. */
function expiresAt(now: number, ttlMs: number | undefined): number | null {
  return ttlMs === undefined ? null : Math.ceil(now + ttlMs)
}
