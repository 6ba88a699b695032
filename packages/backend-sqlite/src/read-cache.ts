/** A value this connection read, with the expiry it had (`null`: none; the value may be absent). */
interface CachedRead {
  readonly value: Buffer | undefined
  readonly expiresAt: number | null
}

/**
 * The reads of this connection, kept while nothing can have changed them, so a hot key costs one cheap
 * statement instead of a probe per key.
 *
 * What makes it exact: SQLite's `PRAGMA data_version` changes whenever another connection (another
 * process or thread) commits to the file, and every write of this connection goes through the backend,
 * which clears the cache. So each read operation first asks for the data version: unchanged means every
 * kept value is still what the file holds (a kept value past its expiry is dropped, as a read would);
 * changed means everything kept is dropped. Bounded: past `capacity` keys, the oldest kept is dropped.
 */
export class ReadCache {
  private readonly entries = new Map<string, CachedRead>()
  private version: unknown

  constructor(
    private readonly capacity: number,
    private readonly dataVersion: () => unknown,
  ) {}

  /** Starts a read operation: drops everything if another connection committed since the last one. */
  begin(): void {
    const version = this.dataVersion()
    if (version !== this.version) {
      this.entries.clear()
      this.version = version
    }
  }

  /** The kept read of `key`, if it is still live; `undefined` when not kept (not: "absent"). */
  lookup(key: string, now: number): CachedRead | undefined {
    const kept = this.entries.get(key)
    if (kept === undefined) return undefined
    if (kept.expiresAt !== null && kept.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return kept
  }

  remember(key: string, value: Buffer | undefined, expiresAt: number | null): void {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
    this.entries.set(key, { value, expiresAt })
  }

  /** This connection wrote `key`. */
  drop(key: string): void {
    this.entries.delete(key)
  }

  /** This connection wrote: nothing kept can be trusted. */
  clear(): void {
    this.entries.clear()
  }
}
