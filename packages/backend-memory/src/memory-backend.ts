import { type Backend, type BackendEntry, InvalidOptionError, NotACounterError } from '@rapide/core'
import { LRUCache } from 'lru-cache'
import { estimateSize } from './estimate-size.js'

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries kept; the least recently used go first. Default 10 000. */
  maxEntries?: number
  /**
   * Approximate upper bound of the memory held by values, in bytes (sizes are estimated by walking each
   * value once when it is stored). Default: no byte bound.
   */
  maxBytes?: number
}

/**
 * Boxes every value (lru-cache cannot hold `undefined`). Entries stored with `setIn` remember their
 * namespace and argument key so the index can forget them when the LRU drops them.
 */
type Slot = { value: unknown; namespace?: string; key?: string }

/**
 * An in-process backend: synchronous, so a wrapped synchronous function stays synchronous; values are
 * kept as they are (no serialization), so a hit returns the very object that was stored; bounded by entry
 * count and optionally by bytes, least recently used first; entries expire lazily when read.
 *
 * Not shared between processes or worker threads, and not persistent.
 *
 * @example
 * const cache = createCache({ domainKey: 'APP', backend: new MemoryBackend({ maxEntries: 50_000 }) })
 */
export class MemoryBackend implements Backend<unknown> {
  readonly specificationVersion = 1 as const
  readonly name = 'memory'
  readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: true } as const

  private readonly lru: LRUCache<string, Slot>
  /**
   * namespace → argument key → the full key string the LRU holds. Looking a hit up here hashes only the
   * short argument key (the namespace string is the same object on every call, its hash cached), and the
   * full key found is the very string object the LRU stores, so its hash is cached too.
   */
  private readonly index = new Map<string, Map<string, string>>()
  /** Indexed namespaces that also hold keys written with plain `set` (see `getIn`). */
  private readonly plainlyWritten = new Set<string>()

  constructor(options: MemoryBackendOptions = {}) {
    const { maxEntries = 10_000, maxBytes } = options
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionError(`MemoryBackend: maxEntries must be a positive integer, got ${maxEntries}`)
    }
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
      throw new InvalidOptionError(`MemoryBackend: maxBytes must be a positive integer, got ${maxBytes}`)
    }
    this.lru = new LRUCache<string, Slot>({
      max: maxEntries,
      ...(maxBytes === undefined
        ? {}
        : {
            maxSize: maxBytes,
            sizeCalculation: (slot: Slot, key: string) => estimateSize(slot.value) + key.length * 2,
          }),
      dispose: (slot, fullKey) => this.unindex(slot, fullKey),
      // Expired entries are dropped when read or evicted; no timers, nothing on the hot path.
      ttlAutopurge: false,
      allowStale: false,
      updateAgeOnGet: false,
    })
  }

  /** How many entries are held (expired ones included until they are read or evicted). */
  get size(): number {
    return this.lru.size
  }

  /** The estimated bytes held, when `maxBytes` is set (0 otherwise). */
  get calculatedBytes(): number {
    return this.lru.calculatedSize
  }

  get(key: string): unknown {
    return this.lru.get(key)?.value
  }

  set(key: string, value: unknown, ttlMs: number | undefined): void {
    this.notePlainWrite(key)
    this.lru.set(key, { value }, ttlMs === undefined ? undefined : { ttl: ttlMs })
  }

  delete(key: string): boolean {
    return this.lru.delete(key)
  }

  getIn(namespace: string, key: string): unknown {
    const fullKey = this.index.get(namespace)?.get(key)
    if (fullKey !== undefined) return this.lru.get(fullKey)?.value
    // Only a namespace a plain write reached can hold an unindexed key; elsewhere a miss is a miss,
    // without hashing the full key.
    return this.plainlyWritten.has(namespace) ? this.lru.get(namespace + key)?.value : undefined
  }

  setIn(namespace: string, key: string, value: unknown, ttlMs: number | undefined): void {
    const fullKey = namespace + key
    this.lru.set(fullKey, { value, namespace, key }, ttlMs === undefined ? undefined : { ttl: ttlMs })
    let keys = this.index.get(namespace)
    if (keys === undefined) {
      keys = new Map()
      this.index.set(namespace, keys)
      // Keys written plainly before the namespace was first used with setIn are not indexed.
      for (const existing of this.lru.keys()) {
        if (existing.startsWith(namespace)) {
          this.plainlyWritten.add(namespace)
          break
        }
      }
    }
    keys.set(key, fullKey)
  }

  /** Remembers which indexed namespaces a plain write reached (so `getIn` must also try the full key). */
  private notePlainWrite(key: string): void {
    if (this.index.size === 0) return
    for (const namespace of this.index.keys()) {
      if (key.startsWith(namespace)) this.plainlyWritten.add(namespace)
    }
  }

  private unindex(slot: Slot, fullKey: string): void {
    if (slot.namespace === undefined) return
    const keys = this.index.get(slot.namespace)
    if (keys?.get(slot.key!) === fullKey) keys.delete(slot.key!)
  }

  getMany(keys: readonly string[]): unknown[] {
    return keys.map((key) => this.lru.get(key)?.value)
  }

  setMany(entries: readonly BackendEntry<unknown>[]): void {
    for (const entry of entries) this.set(entry.key, entry.value, entry.ttlMs)
  }

  deleteMany(keys: readonly string[]): number {
    let count = 0
    for (const key of keys) if (this.lru.delete(key)) count++
    return count
  }

  setNx(key: string, value: unknown, ttlMs: number | undefined): boolean {
    if (this.lru.has(key)) return false
    this.set(key, value, ttlMs)
    return true
  }

  deleteIfEquals(key: string, value: unknown): boolean {
    const slot = this.lru.get(key)
    if (slot === undefined || slot.value !== value) return false
    return this.lru.delete(key)
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    const slot = this.lru.get(key)
    if (slot === undefined) {
      this.set(key, delta, ttlMs)
      return delta
    }
    if (typeof slot.value !== 'number') throw new NotACounterError(key)
    // Mutating the box keeps the key's remaining time to live, as an increment should.
    slot.value += delta
    return slot.value
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    const slot = this.lru.get(key)
    if (slot === undefined) return false
    this.lru.set(key, slot, { ttl: ttlMs ?? 0 })
    return true
  }

  keys(prefix: string): string[] {
    const out: string[] = []
    for (const key of this.lru.keys()) {
      // keys() also yields expired entries that were not read yet; has() checks expiry.
      if (key.startsWith(prefix) && this.lru.has(key)) out.push(key)
    }
    return out
  }

  deletePrefix(prefix: string): number {
    const doomed = this.keys(prefix)
    for (const key of doomed) this.lru.delete(key)
    return doomed.length
  }

  ping(): boolean {
    return true
  }

  close(): void {
    this.lru.clear()
  }
}
