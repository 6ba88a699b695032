// #region imports
import {
  type AsyncBackend,
  type AtomicMethods,
  type BackendCapabilities,
  type BackendEntry,
  type BatchMethods,
  ClosedError,
  CounterOverflowError,
  checkOptions,
  type ListingMethods,
  NotACounterError,
} from '@rapide/core'
import { Keyv, type KeyvStorageAdapter } from 'keyv'
import { canListKeys } from './can-list-keys.js'
import { KeyLocks } from './key-locks.js'
import type { KeyvBackendOptions } from './keyv-backend-options.js'
import { bytesOf, expiresAt, type Found, holdsBytes, liveValue, storedValue } from './stored-value.js'
// #endregion imports

// #region declaration
/**
 * A rapide backend over any Keyv store. Asynchronous (Keyv is), not shared (a Keyv store cannot make a
 * read-modify-write atomic across processes: use one store per process), with every optional group.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { KeyvBackend } from '@rapide-example/backend-keyv'
 *
 * const cache = createCache({ domainKey: 'SHOP', backend: new KeyvBackend() })
 */
export class KeyvBackend
  implements
    AsyncBackend,
    BatchMethods<false, Uint8Array>,
    AtomicMethods<false, Uint8Array>,
    ListingMethods<false>
{
  readonly specificationVersion = 2
  readonly name = 'keyv'
  readonly capabilities: BackendCapabilities<false>
  private readonly keyv: Keyv
  /** The storage adapter Keyv resolved for its store: we talk to it directly (see `read`). */
  private readonly store: KeyvStorageAdapter
  private readonly locks: KeyLocks
  private readonly ownsKeyv: boolean
  private closed = false

  constructor(options: KeyvBackendOptions = {}) {
    checkOptions(options, ['keyv', 'persistent'], 'new KeyvBackend()')
    this.keyv = options.keyv ?? new Keyv()
    this.ownsKeyv = options.keyv === undefined
    this.store = this.keyv.store
    if (!canListKeys(this.store)) {
      throw new TypeError(
        'new KeyvBackend(): this Keyv store cannot list its keys (no iterator), which clear() and deletePattern() need; use a store that can',
      )
    }
    this.locks = KeyLocks.of(this.store)
    this.capabilities = {
      sync: false,
      persistent: options.persistent ?? false,
      shared: false,
      inProcessValues: false,
    }
  }
  // #endregion declaration

  // #region required
  get(key: string): Promise<Uint8Array | undefined> {
    return this.exclusive([key], async () => {
      const found = await this.read(key)
      return found && bytesOf(found, key)
    })
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<void> {
    return this.exclusive([key], () => this.write(key, storedValue(value, ttlMs)))
  }

  delete(key: string): Promise<boolean> {
    return this.exclusive([key], () => this.remove(key))
  }
  // #endregion required

  // #region batches
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return this.exclusive(keys, async () => {
      // One round trip where the adapter can (Keyv 6 does not require adapters to have getMany).
      const rows =
        typeof this.store.getMany === 'function'
          ? await this.store.getMany<unknown>([...keys])
          : await Promise.all(keys.map((key) => this.store.get<unknown>(key)))
      const found = await Promise.all(rows.map(async (row) => liveValue(await this.keyv.decode(row))))
      return found.map((one, i) => one && bytesOf(one, keys[i]!))
    })
  }

  setMany(entries: readonly BackendEntry<Uint8Array>[]): Promise<void> {
    return this.exclusive(
      entries.map((entry) => entry.key),
      async () => {
        const rows = await Promise.all(
          entries.map(async ({ key, value, ttlMs }) => {
            const stored = storedValue(value, ttlMs)
            return { key, value: await this.keyv.encode(stored), expires: stored.expires }
          }),
        )
        const written = await this.store.setMany(rows)
        if (written?.includes(false)) throw new Error('The Keyv store refused part of a setMany')
      },
    )
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.exclusive(keys, async () => {
      let count = 0
      for (const key of new Set(keys)) if (await this.remove(key)) count++
      return count
    })
  }
  // #endregion batches

  // #region atomics
  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
    return this.exclusive([key], async () => {
      if ((await this.read(key)) !== undefined) return false
      await this.write(key, storedValue(value, ttlMs))
      return true
    })
  }

  deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return this.exclusive([key], async () => {
      const found = await this.read(key)
      if (found === undefined || !holdsBytes(found, value)) return false
      await this.store.delete(key)
      return true
    })
  }

  incr(key: string, delta: number, ttlMs: number | undefined): Promise<number> {
    return this.exclusive([key], async () => {
      const found = await this.read(key)
      const text = found === undefined ? '0' : counterText(found)
      if (text === undefined) throw new NotACounterError(key)
      const next = Number(text) + delta
      if (!Number.isSafeInteger(delta) || !Number.isSafeInteger(next)) throw new CounterOverflowError(key)
      // A new counter gets `ttlMs`; an existing one keeps the expiry it has.
      const expires = found === undefined ? expiresAt(ttlMs) : found.expires
      await this.write(key, { ...storedValue(Buffer.from(String(next)), undefined), expires })
      return next
    })
  }

  expire(key: string, ttlMs: number | undefined): Promise<boolean> {
    return this.exclusive([key], async () => {
      const found = await this.read(key)
      if (found === undefined) return false
      await this.write(key, { value: found.value, expires: expiresAt(ttlMs) })
      return true
    })
  }
  // #endregion atomics

  // #region listing
  async keys(prefix: string): Promise<string[]> {
    this.refuseIfClosed()
    const keys: string[] = []
    for await (const [key, raw] of this.store.iterator!<unknown>()) {
      if (typeof key !== 'string' || !key.startsWith(prefix)) continue
      if (liveValue(await this.keyv.decode(raw)) !== undefined) keys.push(key)
    }
    return keys
  }

  async deletePrefix(prefix: string): Promise<number> {
    return this.deleteMany(await this.keys(prefix))
  }
  // #endregion listing

  // #region lifecycle
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.ownsKeyv) await this.keyv.disconnect()
  }
  // #endregion lifecycle

  // #region helpers
  /**
   * Runs `operation` alone on `keys` in this process: what makes the atomics atomic, `setMany` all or
   * nothing for readers, and each answer consistent with the writes before it.
   */
  private exclusive<T>(keys: readonly string[], operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError('KeyvBackend'))
    return this.locks.run(keys, operation)
  }

  private refuseIfClosed(): void {
    if (this.closed) throw new ClosedError('KeyvBackend')
  }

  /**
   * Reads through the storage adapter, not `keyv.get()`: Keyv's own methods turn a failing store into
   * `undefined` or `false` (and an `error` event), and a cache must tell a miss from an outage. A
   * failure here rejects, and rapide applies its error policy. Keyv's `decode` still runs the
   * decryption, decompression and serializer it was configured with.
   */
  private async read(key: string): Promise<Found | undefined> {
    return liveValue(await this.keyv.decode(await this.store.get<unknown>(key)))
  }

  private async write(key: string, stored: Found): Promise<void> {
    const written = await this.store.set(key, await this.keyv.encode(stored), stored.expires)
    if (written === false) throw new Error(`The Keyv store refused to write "${key}"`)
  }

  /**
   * Removes `key`; answers whether it held a live value. Adapters disagree on what their `delete`
   * answers (a `Map` says true for an expired entry not swept yet), so we read first.
   */
  private async remove(key: string): Promise<boolean> {
    const existed = (await this.read(key)) !== undefined
    await this.store.delete(key)
    return existed
  }
}
// #endregion helpers

// #region counter-text
/** The decimal text of a counter, as every rapide backend stores one; undefined if it is not one. */
function counterText(found: Found): string | undefined {
  if (typeof found.value !== 'string') return undefined
  const text = Buffer.from(found.value, 'base64').toString('latin1')
  return /^-?\d{1,20}$/.test(text) ? text : undefined
}
// #endregion counter-text
