import type { BackendV1 } from '../../src/index.js'

/** A synchronous in-process test backend (local coordination, live values), like the memory backend. */
export class SyncMapBackend implements BackendV1<unknown> {
  readonly specificationVersion = 1 as const
  readonly name = 'sync-map'
  readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: true } as const
  readonly data = new Map<string, { value: unknown; expiresAt: number }>()

  get(key: string): unknown {
    const entry = this.data.get(key)
    if (entry && entry.expiresAt <= Date.now()) this.data.delete(key)
    return entry && entry.expiresAt > Date.now() ? entry.value : undefined
  }
  set(key: string, value: unknown, ttlMs: number | undefined): void {
    this.data.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs })
  }
  delete(key: string): boolean {
    return this.data.delete(key)
  }
  keys(prefix: string): string[] {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix) && this.get(k) !== undefined)
  }
}

/**
 * An asynchronous, shared, byte-storing test backend (shared coordination), with a switch that makes
 * every operation hang, as a dead server would.
 */
export class AsyncBytesBackend implements BackendV1 {
  readonly specificationVersion = 1 as const
  readonly name = 'async-bytes'
  readonly capabilities = { sync: false, persistent: false, shared: true, inProcessValues: false } as const
  readonly data = new Map<string, { value: Uint8Array; expiresAt: number }>()
  hang = false

  private answer<T>(value: () => T): Promise<T> {
    return this.hang ? new Promise<T>(() => {}) : Promise.resolve().then(value)
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return this.answer(() => {
      const entry = this.data.get(key)
      return entry && entry.expiresAt > Date.now() ? entry.value : undefined
    })
  }
  set(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<void> {
    return this.answer(() => {
      this.data.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs })
    })
  }
  delete(key: string): Promise<boolean> {
    return this.answer(() => this.data.delete(key))
  }
  setMany(entries: readonly { key: string; value: Uint8Array; ttlMs: number | undefined }[]): Promise<void> {
    return this.answer(() => {
      for (const e of entries)
        this.data.set(e.key, { value: e.value, expiresAt: e.ttlMs ? Date.now() + e.ttlMs : Infinity })
    })
  }
}

/**
 * One "process" of a shared store: every instance built over the same `data` map sees the same entries,
 * as two processes connected to one Redis would, but each has its own core state (flights, generations).
 */
export class SharedStoreBackend extends AsyncBytesBackend {
  constructor(store: Map<string, { value: Uint8Array; expiresAt: number }>) {
    super()
    ;(this as { data: typeof store }).data = store
  }
  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
    return Promise.resolve().then(() => {
      const entry = this.data.get(key)
      if (entry && entry.expiresAt > Date.now()) return false
      this.data.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs })
      return true
    })
  }
  deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return Promise.resolve().then(() => {
      const entry = this.data.get(key)
      if (!entry || Buffer.compare(entry.value, value) !== 0) return false
      return this.data.delete(key)
    })
  }
}

/** A shared store that also counts (`incr`) and changes ttls (`expire`): every atomic a strategy uses. */
export class CountingStoreBackend extends SharedStoreBackend {
  expire(key: string, ttlMs: number | undefined): Promise<boolean> {
    return Promise.resolve().then(() => {
      const entry = this.data.get(key)
      if (entry === undefined || entry.expiresAt <= Date.now()) return false
      entry.expiresAt = ttlMs === undefined ? Infinity : Date.now() + ttlMs
      return true
    })
  }
  incr(key: string, delta: number, ttlMs: number | undefined): Promise<number> {
    return Promise.resolve().then(() => {
      const entry = this.data.get(key)
      const live = entry !== undefined && entry.expiresAt > Date.now() ? entry : undefined
      const next = (live === undefined ? 0 : Number(Buffer.from(live.value).toString())) + delta
      this.data.set(key, {
        value: Buffer.from(String(next)),
        expiresAt: live?.expiresAt ?? (ttlMs === undefined ? Infinity : Date.now() + ttlMs),
      })
      return next
    })
  }
}

/** A shared store with `setGuarded`, counting the writes it receives. */
export class GuardedStoreBackend extends SharedStoreBackend {
  readonly writes: string[] = []
  override set(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<void> {
    this.writes.push('set')
    return super.set(key, value, ttlMs)
  }
  override setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
    this.writes.push('setNx')
    return super.setNx(key, value, ttlMs)
  }
  setGuarded(
    guard: { key: string; value: Uint8Array; ttlMs: number | undefined },
    entry: { key: string; value: Uint8Array; ttlMs: number | undefined },
  ): Promise<void> {
    this.writes.push('setGuarded')
    return Promise.resolve().then(() => {
      const held = this.data.get(guard.key)
      if (!held || held.expiresAt <= Date.now()) {
        this.data.set(guard.key, {
          value: guard.value,
          expiresAt: guard.ttlMs === undefined ? Infinity : Date.now() + guard.ttlMs,
        })
      }
      this.data.set(entry.key, {
        value: entry.value,
        expiresAt: entry.ttlMs === undefined ? Infinity : Date.now() + entry.ttlMs,
      })
    })
  }
}

/**
 * A synchronous contract-v2 backend over a map, with every group (batches, atomics, listing): shared and
 * byte-storing when `shared` (shared coordination, as SQLite or disk), else in-process values (local
 * coordination, as memory). Expiry follows `Date.now()`, so fake clocks drive it.
 */
export class FullMapBackend {
  readonly specificationVersion = 2 as const
  readonly name = 'full-map'
  readonly capabilities: { sync: true; persistent: false; shared: boolean; inProcessValues: boolean }
  constructor(
    shared: boolean,
    /** Pass one map to several instances: they are then processes sharing one store. */
    readonly data = new Map<string, { value: unknown; expiresAt: number }>(),
  ) {
    this.capabilities = { sync: true, persistent: false, shared, inProcessValues: !shared }
  }
  private live(key: string) {
    const entry = this.data.get(key)
    if (entry !== undefined && entry.expiresAt <= Date.now()) {
      this.data.delete(key)
      return undefined
    }
    return entry
  }
  get(key: string): unknown {
    return this.live(key)?.value
  }
  set(key: string, value: unknown, ttlMs: number | undefined): void {
    this.data.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs })
  }
  delete(key: string): boolean {
    return this.live(key) !== undefined && this.data.delete(key)
  }
  getMany(keys: readonly string[]): unknown[] {
    return keys.map((key) => this.get(key))
  }
  setMany(entries: readonly { key: string; value: unknown; ttlMs: number | undefined }[]): void {
    for (const entry of entries) this.set(entry.key, entry.value, entry.ttlMs)
  }
  deleteMany(keys: readonly string[]): number {
    return keys.filter((key) => this.delete(key)).length
  }
  setNx(key: string, value: unknown, ttlMs: number | undefined): boolean {
    if (this.live(key) !== undefined) return false
    this.set(key, value, ttlMs)
    return true
  }
  deleteIfEquals(key: string, value: unknown): boolean {
    const entry = this.live(key)
    if (entry === undefined) return false
    const same =
      entry.value instanceof Uint8Array && value instanceof Uint8Array
        ? Buffer.compare(entry.value, value) === 0
        : entry.value === value
    return same && this.data.delete(key)
  }
  incr(key: string, delta: number, ttlMs: number | undefined): number {
    const entry = this.live(key)
    const current = entry === undefined ? 0 : Number(Buffer.from(entry.value as Uint8Array).toString())
    const next = current + delta
    this.data.set(key, {
      value: Buffer.from(String(next)),
      expiresAt: entry?.expiresAt ?? (ttlMs === undefined ? Infinity : Date.now() + ttlMs),
    })
    return next
  }
  expire(key: string, ttlMs: number | undefined): boolean {
    const entry = this.live(key)
    if (entry === undefined) return false
    entry.expiresAt = ttlMs === undefined ? Infinity : Date.now() + ttlMs
    return true
  }
  keys(prefix: string): string[] {
    return [...this.data.keys()].filter((key) => key.startsWith(prefix) && this.live(key) !== undefined)
  }
  deletePrefix(prefix: string): number {
    return this.deleteMany(this.keys(prefix))
  }
}
