import { prefixEnd } from './prefix-range.js'
import { ReadCache } from './read-cache.js'
import type { Statements } from './statements.js'

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
    return this.cache === undefined
      ? (this.statements.get.get(key, Date.now()) as Buffer | undefined)
      : this.getMany([key])[0]
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

  /** The live keys that start with `prefix`: an index range, not a scan (see `prefixEnd`). */
  keys(prefix: string): string[] {
    const end = prefixEnd(prefix)
    const now = Date.now()
    const { keysOpen, keysRange } = this.statements
    return (end === undefined ? keysOpen.all(prefix, now) : keysRange.all(prefix, end, now)) as string[]
  }

  /** This connection wrote: nothing kept from earlier reads can be trusted. */
  forget(): void {
    this.cache?.clear()
  }

  /** Reads keys from the file (absent and expired ones as `undefined`), keeping each in `cache` if given. */
  private fetch(keys: readonly string[], now: number, cache: ReadCache | undefined): (Buffer | undefined)[] {
    const out = new Array<Buffer | undefined>(keys.length)
    if (keys.length <= JOINED_READ_MAX) {
      // The hit path (an entry and its three generations): one row, two columns (value, expiry) per key.
      const parameters: unknown[] = []
      for (const key of keys) parameters.push(key, now)
      const row = this.statements.joinedRead(keys.length).get(parameters) as (Buffer | number | null)[]
      for (let i = 0; i < keys.length; i++) {
        const value = (row[2 * i] as Buffer | null) ?? undefined
        out[i] = value
        cache?.remember(keys[i]!, value, value === undefined ? null : (row[2 * i + 1] as number | null))
      }
      return out
    }
    for (let start = 0; start < keys.length; start += BATCH) {
      const slice = keys.slice(start, start + BATCH)
      const rows = this.statements.inListRead(slice.length).all(...slice, now) as [
        string,
        Buffer,
        number | null,
      ][]
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
}
