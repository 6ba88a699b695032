import fs from 'node:fs'
import { join } from 'node:path'
import {
  type Accelerations,
  type AtomicMethods,
  type BackendCapabilities,
  type BackendEntry,
  type BatchMethods,
  ClosedError,
  CounterOverflowError,
  type ListingMethods,
  NotACounterError,
  type SyncBackend,
} from '@rapide/core'
import { prepareDirectory } from './cache-directory.js'
import { entriesOf, SUBDIRECTORIES } from './directory-walk.js'
import { diskOptionsFromUrl } from './from-url.js'
import { fileSystemError } from './fs-errors.js'
import { GroupLocks } from './group-lock.js'
import { GROUP_FILE_NAME, GroupPaths } from './group-paths.js'
import { type Changed, GroupStore } from './group-store.js'
import { Housekeeping, type PruneReport } from './housekeeping.js'
import { keyGroup } from './key-group.js'
import { type DiskBackendOptions, type DiskSettings, resolveOptions } from './options.js'
import {
  copyOf,
  decodeGroup,
  GroupFileDamage,
  type GroupRecords,
  groupOfFile,
  isLive,
  type StoredRecord,
} from './record-format.js'

type Entry = BackendEntry<Uint8Array>

/** What {@link DiskBackend.accelerations} gives the core: a miss in one file write, and dead results reclaimed by `prune()`. */
export type DiskAccelerations = Required<
  Pick<Accelerations<true, Uint8Array>, 'setGuarded' | 'reclaimPrefix'>
>

const COUNTER = /^-?\d{1,16}$/

/**
 * A persistent cache in a directory, shared by every process and thread of the machine, answering
 * synchronously (a wrapped synchronous function stays synchronous). Keys are stored by key group (see the
 * README): one checksummed file per group, named by a hash, replaced whole by a rename, so a reader never
 * sees a partial file and no key reaches a path.
 *
 * Implements contract version 2 with every optional group (batches, atomics, listing) and two
 * accelerations (`setGuarded`, `reclaimPrefix`). After `close()`, every operation throws `ClosedError`.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { DiskBackend } from '@rapide/backend-disk'
 *
 * const cache = createCache({ domainKey: 'SHOP', backend: new DiskBackend({ directory: './.cache/shop' }) })
 * const priceOf = cache.wrap('PRICE_OF', (sku: string) => computePrice(sku))
 * priceOf('A-1') // computed; a second call, in any process on this machine, reads the file
 */
export class DiskBackend
  implements
    SyncBackend<Uint8Array>,
    BatchMethods<true, Uint8Array>,
    AtomicMethods<true, Uint8Array>,
    ListingMethods<true>
{
  readonly specificationVersion = 2
  readonly name = 'disk'
  readonly capabilities: BackendCapabilities<true> = {
    sync: true,
    persistent: true,
    shared: true,
    inProcessValues: false,
  }
  /** The cache directory (absolute). */
  readonly directory: string
  /**
   * Names the store: the resolved directory (through symbolic links), so two instances over one
   * directory are recognised as one store.
   *
   * @example new DiskBackend({ directory: './cache' }).storeId // 'disk:/srv/app/cache'
   */
  readonly storeId: string

  private readonly settings: DiskSettings
  private readonly paths: GroupPaths
  private readonly locks: GroupLocks
  private readonly store: GroupStore
  private readonly housekeeping: Housekeeping
  private readonly timer: NodeJS.Timeout | undefined
  private closed = false

  /**
   * A disk backend from a URL: `disk:///var/cache/app` (absolute), `disk:./cache` (relative to the working
   * directory), `disk://` (the default directory), with options in the query string (`maxBytes`,
   * `lockTimeout`, `busyTimeout`, `pruneInterval`, `openFiles`) checked as constructor options are.
   * `onCorruptFile` is a function and cannot come from a URL. What `createCache({ backend: 'disk:…' })`
   * and `RAPIDE_URL` use.
   *
   * @example
   * const backend = DiskBackend.fromUrl('disk:///var/cache/app?maxBytes=1000000000&pruneInterval=5m')
   */
  static fromUrl(url: string): DiskBackend {
    return new DiskBackend(diskOptionsFromUrl(url))
  }

  constructor(options: DiskBackendOptions = {}) {
    this.settings = resolveOptions(options)
    const { directory } = this.settings
    prepareDirectory(directory)
    this.directory = directory
    this.storeId = `disk:${fs.realpathSync(directory)}`
    this.paths = new GroupPaths(directory)
    this.locks = new GroupLocks(this.settings.lockTimeoutMs, this.settings.busyTimeoutMs)
    this.store = new GroupStore(
      directory,
      this.paths,
      this.locks,
      this.settings.onCorruptFile,
      this.settings.openFiles,
    )
    this.housekeeping = new Housekeeping(
      directory,
      this.paths,
      this.store,
      this.locks,
      this.settings.maxBytes,
      (error) =>
        process.emitWarning(`rapide disk: a background prune of ${directory} failed: ${String(error)}`),
    )
    this.store.onWrite = (bytes) => this.housekeeping.noteWrite(bytes)
    const interval = this.settings.pruneIntervalMs
    if (interval !== undefined) {
      this.timer = setInterval(() => this.housekeeping.startBackground(), interval)
      this.timer.unref()
    }
  }

  // ---- the contract: required ------------------------------------------------------------------

  get(key: string): Uint8Array | undefined {
    this.assertOpen()
    const group = keyGroup(key)
    const file = this.store.read(group, 'get')
    if (file === undefined) return undefined
    const [record] = this.store.find(group, file, [key], 'get')
    // Copied: the file's bytes are the store's read buffer, reused by the next read, or a kept file's.
    return record !== undefined && isLive(record, Date.now()) ? copyOf(record.value) : undefined
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): void {
    this.change(keyGroup(key), 'set', (records, now) => {
      put(records, key, value, ttlMs, now, false)
      return { result: undefined, changed: true }
    })
  }

  delete(key: string): boolean {
    return this.change(keyGroup(key), 'delete', (records, now) => removeKey(records, key, now))
  }

  /** `true` when the cache directory can be written. */
  ping(): boolean {
    this.assertOpen()
    try {
      fs.accessSync(this.directory, fs.constants.W_OK)
      return true
    } catch {
      return false
    }
  }

  /** Stops the background prunes and closes the files kept open. Harmless twice; afterwards every operation throws `ClosedError`. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    this.housekeeping.stop()
    this.store.close()
  }

  // ---- the contract: batches -------------------------------------------------------------------

  /** One file read per group among `keys` (the hit reads two: the result's group and the domain's). */
  getMany(keys: readonly string[]): (Uint8Array | undefined)[] {
    this.assertOpen()
    const out: (Uint8Array | undefined)[] = new Array(keys.length).fill(undefined)
    const now = Date.now()
    for (const [group, indexes] of byGroup(keys, (key) => key)) {
      const file = this.store.read(group, 'getMany')
      if (file === undefined) continue
      const found = this.store.find(
        group,
        file,
        indexes.map((i) => keys[i]!),
        'getMany',
      )
      for (let j = 0; j < indexes.length; j++) {
        const record = found[j]
        if (record !== undefined && isLive(record, now)) out[indexes[j]!] = copyOf(record.value)
      }
    }
    return out
  }

  /**
   * Atomic per key group: each group's entries are one file write, so a reader sees all of them or none.
   * Entries of several groups are written group after group (as on a partitioned store).
   */
  setMany(entries: readonly Entry[]): void {
    this.assertOpen()
    for (const [group, indexes] of byGroup(entries, (entry) => entry.key)) {
      this.change(group, 'setMany', (records, now) => {
        for (const i of indexes) {
          const entry = entries[i]!
          put(records, entry.key, entry.value, entry.ttlMs, now, entry.bookkeeping === true)
        }
        return { result: undefined, changed: true }
      })
    }
  }

  deleteMany(keys: readonly string[]): number {
    this.assertOpen()
    let removed = 0
    for (const [group, indexes] of byGroup(keys, (key) => key)) {
      removed += this.change(group, 'deleteMany', (records, now) => {
        let count = 0
        let changed = false
        for (const i of indexes) {
          const outcome = removeKey(records, keys[i]!, now)
          if (outcome.result) count++
          changed ||= outcome.changed
        }
        return { result: count, changed }
      })
    }
    return removed
  }

  // ---- the contract: atomics -------------------------------------------------------------------

  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): boolean {
    return this.change(keyGroup(key), 'setNx', (records, now) => {
      const current = records.get(key)
      if (current !== undefined && isLive(current, now)) return { result: false, changed: false }
      put(records, key, value, ttlMs, now, true)
      return { result: true, changed: true }
    })
  }

  deleteIfEquals(key: string, value: Uint8Array): boolean {
    return this.change(keyGroup(key), 'deleteIfEquals', (records, now) => {
      const current = records.get(key)
      if (current === undefined || !isLive(current, now) || !sameBytes(current.value, value)) {
        return { result: false, changed: false }
      }
      records.delete(key)
      return { result: true, changed: true }
    })
  }

  incr(key: string, delta: number, ttlMs: number | undefined): number {
    return this.change(keyGroup(key), 'incr', (records, now) => {
      const current = records.get(key)
      let count = 0
      let expiresAt = expiry(now, ttlMs)
      if (current !== undefined && isLive(current, now)) {
        const text = Buffer.from(current.value).toString('latin1')
        if (!COUNTER.test(text)) throw new NotACounterError(key)
        count = Number(text)
        expiresAt = current.expiresAt
      }
      // Both operands safe, the sum is exact whenever it is safe and unsafe whenever it is not.
      const next = count + delta
      if (!Number.isSafeInteger(count) || !Number.isSafeInteger(delta) || !Number.isSafeInteger(next)) {
        throw new CounterOverflowError(key)
      }
      records.set(key, {
        value: Buffer.from(String(next), 'latin1'),
        expiresAt,
        writtenAt: now,
        bookkeeping: true,
      })
      return { result: next, changed: true }
    })
  }

  expire(key: string, ttlMs: number | undefined): boolean {
    return this.change(keyGroup(key), 'expire', (records, now) => {
      const current = records.get(key)
      if (current === undefined || !isLive(current, now)) return { result: false, changed: false }
      current.expiresAt = expiry(now, ttlMs)
      return { result: true, changed: true }
    })
  }

  // ---- the contract: listing -------------------------------------------------------------------

  /** Walks the whole directory (every group file is read): not for the request path. */
  keys(prefix: string): string[] {
    this.assertOpen()
    const found: string[] = []
    const now = Date.now()
    this.forEachGroup('keys', (_group, records) => {
      for (const [key, record] of records) if (key.startsWith(prefix) && isLive(record, now)) found.push(key)
    })
    return found
  }

  /** Walks the whole directory, and rewrites each group file holding keys under `prefix`. */
  deletePrefix(prefix: string): number {
    this.assertOpen()
    const groups: string[] = []
    this.forEachGroup('deletePrefix', (group, records) => {
      for (const key of records.keys()) {
        if (key.startsWith(prefix)) {
          groups.push(group)
          return
        }
      }
    })
    let removed = 0
    for (const group of groups) {
      removed += this.change(group, 'deletePrefix', (records, now) => {
        let count = 0
        let changed = false
        for (const [key, record] of records) {
          if (!key.startsWith(prefix)) continue
          if (isLive(record, now)) count++
          records.delete(key)
          changed = true
        }
        return { result: count, changed }
      })
    }
    return removed
  }

  // ---- the contract: accelerations -------------------------------------------------------------

  /**
   * Called once per cache. `setGuarded` writes a new result with its generation in one file write (they
   * share a key group); `reclaimPrefix` records a dead prefix for this process's next background prune
   * (a second later), which removes the records under it written before the call.
   *
   * @example
   * const { setGuarded } = backend.accelerations()
   * setGuarded({ key: 'g:{f:1:[2]}', value: token, ttlMs: undefined }, { key: 'r:{f:1:[2]}', value, ttlMs: 60_000 })
   */
  accelerations(): DiskAccelerations {
    return {
      setGuarded: (guard, entry) => this.writeGuarded(guard, entry),
      reclaimPrefix: (prefix) => {
        this.assertOpen()
        this.housekeeping.markDead(prefix)
      },
    }
  }

  // ---- beyond the contract ---------------------------------------------------------------------

  /**
   * Housekeeping now, synchronously: one walk over the directory that removes expired records, records
   * made dead by invalidations (`reclaimPrefix`), damaged files, stray temp files of killed writers and
   * stale locks, then evicts for `maxBytes`. Also runs in the background every `pruneInterval`, a second
   * after an invalidation, and when this process has written a tenth of `maxBytes`.
   *
   * @example const { expired, reclaimed, evicted, tempFiles } = backend.prune()
   */
  prune(): PruneReport {
    this.assertOpen()
    return this.housekeeping.prune()
  }

  // ---- internals -------------------------------------------------------------------------------

  private writeGuarded(guard: Entry, entry: Entry): void {
    const guardGroup = keyGroup(guard.key)
    const entryGroup = keyGroup(entry.key)
    const claim = (records: GroupRecords, now: number): boolean => {
      const current = records.get(guard.key)
      if (current === undefined || !isLive(current, now)) {
        put(records, guard.key, guard.value, guard.ttlMs, now, guard.bookkeeping === true)
        return true
      }
      if (!sameBytes(current.value, guard.value)) return false
      // Found holding the same value: written now as far as reclaimPrefix goes (the entry depends on it).
      current.writtenAt = now
      return true
    }
    if (guardGroup === entryGroup) {
      this.change(guardGroup, 'setGuarded', (records, now) => {
        const claimed = claim(records, now)
        if (claimed) put(records, entry.key, entry.value, entry.ttlMs, now, entry.bookkeeping === true)
        return { result: undefined, changed: claimed }
      })
      return
    }
    // Two groups (not a layout the core makes): two writes; a reader checks the entry against the guard anyway.
    const claimed = this.change(guardGroup, 'setGuarded', (records, now) => ({
      result: claim(records, now),
      changed: true,
    }))
    if (claimed) this.set(entry.key, entry.value, entry.ttlMs)
  }

  /** A change of one group under its lock, expired records dropped on the way. */
  private change<T>(
    group: string,
    operation: string,
    work: (records: GroupRecords, now: number) => Changed<T>,
  ): T {
    this.assertOpen()
    return this.store.mutate(group, operation, (records, now) => {
      const outcome = work(records, now)
      if (outcome.changed) dropExpired(records, now)
      return outcome
    })
  }

  /** Reads every group file (damaged ones skipped: the next read or prune removes them). */
  private forEachGroup(operation: string, visit: (group: string, records: GroupRecords) => void): void {
    for (const subdirectory of SUBDIRECTORIES) {
      for (const name of entriesOf(this.directory, subdirectory)) {
        if (!GROUP_FILE_NAME.test(name)) continue
        let bytes: Uint8Array
        try {
          bytes = fs.readFileSync(join(this.directory, subdirectory, name))
        } catch (error) {
          if ((error as { code?: string }).code === 'ENOENT') continue
          throw fileSystemError(operation, this.directory, error)
        }
        let records: GroupRecords
        let group: string
        try {
          group = groupOfFile(bytes)
          records = decodeGroup(bytes, group)
        } catch (error) {
          if (error instanceof GroupFileDamage) continue
          throw error
        }
        if (!this.paths.fileOf(group).endsWith(name)) continue
        visit(group, records)
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`Disk backend (${this.directory})`)
  }
}

/** Stores a record; a key once bookkeeping stays so when rewritten (as on SQLite). */
function put(
  records: GroupRecords,
  key: string,
  value: Uint8Array,
  ttlMs: number | undefined,
  now: number,
  bookkeeping: boolean,
): void {
  const previous = records.get(key)
  const record: StoredRecord = {
    value,
    expiresAt: expiry(now, ttlMs),
    writtenAt: now,
    bookkeeping: bookkeeping || (previous !== undefined && isLive(previous, now) && previous.bookkeeping),
  }
  records.set(key, record)
}

function removeKey(records: GroupRecords, key: string, now: number): Changed<boolean> {
  const current = records.get(key)
  if (current === undefined) return { result: false, changed: false }
  records.delete(key)
  return { result: isLive(current, now), changed: true }
}

function dropExpired(records: GroupRecords, now: number): void {
  for (const [key, record] of records) if (!isLive(record, now)) records.delete(key)
}

/** Milliseconds since the epoch, rounded up (an entry lives at least its TTL); 0 is no expiry. */
function expiry(now: number, ttlMs: number | undefined): number {
  return ttlMs === undefined ? 0 : Math.max(1, Math.ceil(now + ttlMs))
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Indexes of `items` by the group of their key, in first-seen order. */
function byGroup<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>()
  for (let i = 0; i < items.length; i++) {
    const group = keyGroup(keyOf(items[i]!))
    const list = groups.get(group)
    if (list === undefined) groups.set(group, [i])
    else list.push(i)
  }
  return groups
}
