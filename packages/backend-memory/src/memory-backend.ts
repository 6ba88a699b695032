import {
  type Accelerations,
  type AtomicMethods,
  type BackendEntry,
  type BatchMethods,
  ClosedError,
  CounterOverflowError,
  checkOptions,
  InvalidOptionError,
  type ListingMethods,
  NotACounterError,
  type ScopedStore,
  type SyncBackend,
  ValueTooLargeError,
} from '@rapide/core'
import { LRUCache } from 'lru-cache'
import { estimateSize } from './estimate-size.js'
import { memoryOptionsFromUrl } from './from-url.js'

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries kept; the least recently used go first. Default 10 000. */
  maxEntries?: number
  /**
   * Upper bound of the memory held by entries, in bytes, estimated by walking each value once when it is
   * stored (see {@link estimateSize}: a typed array counts its whole buffer; `#private` state counts only
   * if its class declares it with `hiddenBytes`). A value larger than the bound on its own is refused with
   * `ValueTooLargeError`. Default: no byte bound.
   */
  maxBytes?: number
}

const OPTIONS: readonly (keyof MemoryBackendOptions)[] = ['maxEntries', 'maxBytes']

/** One namespace's index: argument key → the full key string the LRU holds. */
type NamespaceIndex = Map<string, string>

/**
 * Boxes every value (lru-cache cannot hold `undefined`). Entries stored through a scoped view remember
 * their namespace's index and argument key so the index can forget them when the LRU drops them. `size`
 * is the estimate made when the value was stored (under `maxBytes` only), reused when the entry is re-set.
 */
type Slot = { value: unknown; index?: NamespaceIndex; key?: string; size?: number }

/**
 * An in-process backend: synchronous, so a wrapped synchronous function stays synchronous; values are
 * kept as they are (no serialization), so a hit returns the very object that was stored; bounded by entry
 * count and optionally by bytes, least recently used first; entries expire lazily when read.
 *
 * Not shared between processes or worker threads, and not persistent. After `close()` every operation
 * throws `ClosedError`.
 *
 * @example
 * const cache = createCache({ domainKey: 'APP', backend: new MemoryBackend({ maxEntries: 50_000 }) })
 */
export class MemoryBackend
  implements
    SyncBackend<unknown>,
    BatchMethods<true, unknown>,
    AtomicMethods<true, unknown>,
    ListingMethods<true>
{
  readonly specificationVersion = 2
  readonly name = 'memory'
  readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: true } as const

  private readonly lru: LRUCache<string, Slot>
  /**
   * namespace → its index (argument key → the full key string the LRU holds). A scoped view holds its
   * namespace's index itself, so a hit hashes only the short argument key, and the full key found is the
   * very string object the LRU stores, its hash cached too.
   */
  private readonly index = new Map<string, NamespaceIndex>()
  /** Indexed namespaces that also hold keys written with plain `set` (see `scope`). */
  private readonly plainlyWritten = new Set<string>()
  private closed = false

  /** The byte bound, when there is one. */
  private readonly maxBytes: number | undefined

  /**
   * A memory backend from a URL: `mem://`, with the options in the query string (`maxEntries`,
   * `maxBytes`), checked as constructor options are (an unknown or ill-typed one is an
   * `InvalidOptionError`). What `createCache({ backend: 'mem://…' })` and `RAPIDE_URL` use.
   *
   * @example
   * const backend = MemoryBackend.fromUrl('mem://?maxEntries=50000&maxBytes=67108864')
   */
  static fromUrl(url: string): MemoryBackend {
    return new MemoryBackend(memoryOptionsFromUrl(url))
  }

  constructor(options: MemoryBackendOptions = {}) {
    checkOptions(options, OPTIONS, 'MemoryBackend')
    const { maxEntries = 10_000, maxBytes } = options ?? {}
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionError(`MemoryBackend: maxEntries must be a positive integer, got ${maxEntries}`)
    }
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
      throw new InvalidOptionError(`MemoryBackend: maxBytes must be a positive integer, got ${maxBytes}`)
    }
    this.maxBytes = maxBytes
    this.lru = new LRUCache<string, Slot>({
      max: maxEntries,
      ...(maxBytes === undefined
        ? {}
        : {
            maxSize: maxBytes,
            // Every write sizes its slot first (see sized()); this only serves re-sets of a sized slot.
            sizeCalculation: (slot: Slot, key: string) => slot.size ?? this.measure(slot, key),
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
    this.checkOpen()
    return this.lru.get(key)?.value
  }

  set(key: string, value: unknown, ttlMs: number | undefined): void {
    this.checkOpen()
    const slot = this.sized(key, { value })
    this.notePlainWrite(key)
    this.lru.set(key, slot, ttlMs === undefined ? undefined : { ttl: ttlMs })
  }

  /**
   * Under `maxBytes`, measures a slot before it is written and refuses one larger than the whole bound:
   * the LRU would otherwise drop it silently. The key is emptied too, so a later read cannot return the
   * value this write meant to replace.
   */
  private sized(key: string, slot: Slot): Slot {
    if (this.maxBytes === undefined) return slot
    const size = this.measure(slot, key)
    if (size > this.maxBytes) {
      this.lru.delete(key)
      throw new ValueTooLargeError(
        `MemoryBackend: the value for "${key}" takes about ${size > this.maxBytes * 2 ? `more than ${this.maxBytes * 2}` : size} bytes, more than maxBytes (${this.maxBytes}); it was not stored`,
      )
    }
    slot.size = size
    return slot
  }

  /** The slot's estimated bytes (key included), counted no further than just past the bound. */
  private measure(slot: Slot, key: string): number {
    const keyBytes = 64 + key.length * 2
    return keyBytes + estimateSize(slot.value, new Set(), (this.maxBytes ?? Infinity) * 2)
  }

  delete(key: string): boolean {
    this.checkOpen()
    return this.lru.delete(key)
  }

  /**
   * The speed-only extras the core asks for once per cache: a scoped view per wrapped function, whose
   * hit is one lookup in the namespace's index and one in the LRU.
   */
  accelerations(): Accelerations<true, unknown> {
    return { scope: (namespace) => this.scope(namespace) }
  }

  /**
   * The view of one namespace. It holds the namespace's index (made on first use) and the LRU, so a hit
   * looks nothing else up. A miss in the index is a miss, unless a plain write reached the namespace; after
   * `close()` the indexes are empty, so every read takes that path and throws.
   */
  private scope(namespace: string): ScopedStore<true, unknown> {
    this.checkOpen()
    const index = this.indexOf(namespace)
    const lru = this.lru
    return {
      get: (key) => {
        const fullKey = index.get(key)
        if (fullKey !== undefined) return lru.get(fullKey)?.value
        return this.unindexedGet(namespace, key)
      },
      set: (key, value, ttlMs) => this.setIndexed(namespace, index, key, value, ttlMs),
    }
  }

  /** The index of `namespace`, created on first use (shared by every view of it). */
  private indexOf(namespace: string): NamespaceIndex {
    let index = this.index.get(namespace)
    if (index === undefined) {
      index = new Map()
      this.index.set(namespace, index)
      // Keys written plainly before the namespace was first viewed are not indexed.
      for (const existing of this.lru.keys()) {
        if (existing.startsWith(namespace)) {
          this.plainlyWritten.add(namespace)
          break
        }
      }
    }
    return index
  }

  /** A read the index could not answer: only a namespace a plain write reached can hold the key. */
  private unindexedGet(namespace: string, key: string): unknown {
    this.checkOpen()
    return this.plainlyWritten.has(namespace) ? this.lru.get(namespace + key)?.value : undefined
  }

  private setIndexed(
    namespace: string,
    index: NamespaceIndex,
    key: string,
    value: unknown,
    ttlMs: number | undefined,
  ): void {
    this.checkOpen()
    const fullKey = namespace + key
    const slot = this.sized(fullKey, { value, index, key })
    this.lru.set(fullKey, slot, ttlMs === undefined ? undefined : { ttl: ttlMs })
    index.set(key, fullKey)
  }

  /** Remembers which indexed namespaces a plain write reached (so their views must also try the full key). */
  private notePlainWrite(key: string): void {
    if (this.index.size === 0) return
    for (const namespace of this.index.keys()) {
      if (key.startsWith(namespace)) this.plainlyWritten.add(namespace)
    }
  }

  private unindex(slot: Slot, fullKey: string): void {
    const { index, key } = slot
    if (index !== undefined && index.get(key!) === fullKey) index.delete(key!)
  }

  getMany(keys: readonly string[]): unknown[] {
    this.checkOpen()
    return keys.map((key) => this.lru.get(key)?.value)
  }

  setMany(entries: readonly BackendEntry<unknown>[]): void {
    this.checkOpen()
    if (this.maxBytes === undefined) {
      for (const entry of entries) this.set(entry.key, entry.value, entry.ttlMs)
      return
    }
    // Measure every entry before writing any: a batch with a value over the bound writes none of the others.
    const slots = entries.map((entry) => this.sized(entry.key, { value: entry.value }))
    entries.forEach((entry, i) => {
      this.notePlainWrite(entry.key)
      this.lru.set(entry.key, slots[i]!, entry.ttlMs === undefined ? undefined : { ttl: entry.ttlMs })
    })
  }

  deleteMany(keys: readonly string[]): number {
    this.checkOpen()
    let count = 0
    for (const key of keys) if (this.lru.delete(key)) count++
    return count
  }

  setNx(key: string, value: unknown, ttlMs: number | undefined): boolean {
    this.checkOpen()
    if (this.lru.has(key)) return false
    this.set(key, value, ttlMs)
    return true
  }

  deleteIfEquals(key: string, value: unknown): boolean {
    this.checkOpen()
    const slot = this.lru.get(key)
    if (slot === undefined || slot.value !== value) return false
    return this.lru.delete(key)
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    this.checkOpen()
    const slot = this.lru.get(key)
    if (slot === undefined) {
      if (!Number.isSafeInteger(delta)) throw new CounterOverflowError(key)
      this.set(key, delta, ttlMs)
      return delta
    }
    if (!Number.isSafeInteger(slot.value)) throw new NotACounterError(key)
    const next = (slot.value as number) + delta
    // Past 2^53 a double cannot tell n from n + 1: refuse rather than lose increments.
    if (!Number.isSafeInteger(next) || !Number.isSafeInteger(delta)) throw new CounterOverflowError(key)
    // Mutating the box keeps the key's remaining time to live, as an increment should.
    slot.value = next
    return next
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    this.checkOpen()
    const slot = this.lru.get(key)
    if (slot === undefined) return false
    this.lru.set(key, slot, { ttl: ttlMs ?? 0 })
    return true
  }

  keys(prefix: string): string[] {
    this.checkOpen()
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
    this.checkOpen()
    return true
  }

  /**
   * Empties the store and closes it: every operation then throws `ClosedError`, views made before
   * included. Calling it twice is harmless.
   */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.lru.clear()
    // Views hold their namespace's index: emptied, not dropped, so their reads reach the closed check.
    for (const index of this.index.values()) index.clear()
    this.index.clear()
    this.plainlyWritten.clear()
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('MemoryBackend')
  }
}
