import { guardKeyOf, guardRowPrefix, locate, Slot } from './key-slots.js'
import { prefixEnd } from './prefix-range.js'
import { ReadCache } from './read-cache.js'
import type { SlotStatements, Statements } from './statements.js'

/** Placeholders per statement of a batch read: well under SQLite's variable limit. */
const BATCH = 256
/** Up to this many keys, a read is one joined row (see `Statements.joinedRead`). */
const JOINED_READ_MAX = 8

/**
 * Every read of one connection: single keys, batches and listings. Reads of keys go through the
 * {@link ReadCache} when it is on, so a hot key costs one `PRAGMA data_version` instead of a probe; the
 * backend calls {@link forget} after each of its writes, since its own commits do not move the version.
 */
export class Reader {
  /** Reads kept while nothing can have changed them; undefined when `readCache` is off. */
  private readonly cache: ReadCache | undefined

  constructor(
    private readonly statements: Statements,
    cacheSize: number | undefined,
  ) {
    const version = statements.dataVersion
    this.cache = cacheSize === undefined ? undefined : new ReadCache(cacheSize, () => version.get())
  }

  get(key: string): Uint8Array | undefined {
    if (this.cache !== undefined) return this.getMany([key])[0]
    const { row, slot } = locate(key)
    return (this.statements.slots[slot].get.get(row, Date.now()) as Buffer | null | undefined) ?? undefined
  }

  /** One slot per key, in order; absent and expired keys as `undefined`. */
  getMany(keys: readonly string[]): (Uint8Array | undefined)[] {
    const now = Date.now()
    const cache = this.cache
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

  /** The live keys that start with `prefix`: index ranges, not a scan (see `prefixEnd`, `guardRowPrefix`). */
  keys(prefix: string): string[] {
    const now = Date.now()
    const main = rangeOf(this.statements.slots[Slot.Main], prefix, now)
    const guardPrefix = guardRowPrefix(prefix)
    if (guardPrefix === undefined) return main
    for (const row of rangeOf(this.statements.slots[Slot.Guard], guardPrefix, now)) main.push(guardKeyOf(row))
    return main
  }

  /**
   * This connection wrote `keys` (every key, when not given): what was kept of them can no longer be
   * trusted. The others can: its own commit is the only change the data version does not announce.
   */
  forget(keys?: readonly string[]): void {
    const { cache } = this
    if (cache === undefined) return
    if (keys === undefined) cache.clear()
    else for (const key of keys) cache.drop(key)
  }

  /** Reads keys from the file (absent and expired ones as `undefined`), keeping each in `cache` if given. */
  private fetch(keys: readonly string[], now: number, cache: ReadCache | undefined): (Buffer | undefined)[] {
    const out = new Array<Buffer | undefined>(keys.length)
    // A result and its generation are two slots of one row: each row is read once.
    const rows: string[] = []
    const rowOf = new Array<number>(keys.length)
    const slotOf = new Array<Slot>(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const { row, slot } = locate(keys[i]!)
      let at = rows.indexOf(row)
      if (at === -1 || rows.length > JOINED_READ_MAX) at = rows.push(row) - 1
      rowOf[i] = at
      slotOf[i] = slot
    }
    const columns: (Buffer | number | null)[] = []
    if (rows.length <= JOINED_READ_MAX) {
      // The hit path (an entry with its generation, and two other generations): one row, four columns
      // (value, expiry of each slot) per row read.
      const joined = this.statements.joinedRead(rows.length).get(rows) as (Buffer | number | null)[]
      for (const column of joined) columns.push(column)
    } else {
      const found = new Map<string, (Buffer | number | null)[]>()
      for (let start = 0; start < rows.length; start += BATCH) {
        const slice = rows.slice(start, start + BATCH)
        for (const [key, ...slots] of this.statements.inListRead(slice.length).all(...slice) as [
          string,
          ...(Buffer | number | null)[],
        ][])
          found.set(key, slots)
      }
      for (const row of rows) columns.push(...(found.get(row) ?? [null, null, null, null]))
    }
    for (let i = 0; i < keys.length; i++) {
      const at = 4 * rowOf[i]! + 2 * slotOf[i]!
      let value = (columns[at] as Buffer | null) ?? undefined
      const expiresAt = (columns[at + 1] as number | null) ?? null
      if (value !== undefined && expiresAt !== null && expiresAt <= now) value = undefined
      out[i] = value
      cache?.remember(keys[i]!, value, value === undefined ? null : expiresAt)
    }
    return out
  }
}

/** The live keys (row names) of one slot under `prefix`. */
function rangeOf(statements: SlotStatements, prefix: string, now: number): string[] {
  const end = prefixEnd(prefix)
  return (
    end === undefined ? statements.keysOpen.all(prefix, now) : statements.keysRange.all(prefix, end, now)
  ) as string[]
}
