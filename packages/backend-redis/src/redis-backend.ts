import {
  type Accelerations,
  type AsyncBackend,
  type AtomicMethods,
  type BackendCapabilities,
  type BackendEntry,
  type BatchMethods,
  CounterOverflowError,
  checkOptions,
  InvalidOptionError,
  isolateCallback,
  type ListingMethods,
  NotACounterError,
  parseTtl,
  withTimeout,
} from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js'
import { ClusterFanOut } from './cluster-fan-out.js'
import { positiveMs, scriptTtl, setCommand, toBuffer } from './command-arguments.js'
import { connect, DEFAULT_REDIS_URL, resendingOptions, storeIdOfClient, storeIdOfUrls } from './connect.js'
import { redisOptionsFromUrl } from './from-url.js'
import { escapeGlob } from './glob-escape.js'
import { OperationEnvelope } from './operation-envelope.js'
import { ReadBatcher, type ReadResult } from './read-batcher.js'
import { OPTION_NAMES, type RedisBackendOptions } from './redis-backend-options.js'
import { deleteIfEqualsScript, expireScript, incrScript, setGuardedScript } from './scripts.js'

/** Redis's error for a counter whose result would not fit its 64-bit integer, and our script's own. */
const COUNTER_OVERFLOW = /would overflow|RAPIDE_COUNTER_OVERFLOW/
/** Keys per `SCAN` step and per `UNLINK` batch of a listing or a prefix delete. */
const SCAN_COUNT = 1000

/**
 * The speed-only extras {@link RedisBackend.accelerations} provides (contract version 2 keeps them out
 * of the backend's own methods, so that a backend author can ignore them).
 */
export interface RedisAccelerations extends Accelerations<false, Uint8Array> {
  /**
   * A new result and its generation in one script (one round trip) instead of two writes: a miss costs
   * two round trips, the read and the store.
   */
  setGuarded(guard: BackendEntry, entry: BackendEntry): Promise<void>
  /** The backend's own `timeout` in ms: the core sets no timer per operation when its own is not shorter. */
  readonly operationTimeoutMs: number
}

/**
 * The Redis backend: a cache shared by every process and machine that reaches the same Redis or Redis
 * Cluster, through ioredis.
 *
 * - A hit is one round trip: the entry and its three generations are one `MGET` (on a cluster, one
 *   `MGET` per hash slot involved, sent together; see "Key groups" in the core README).
 * - Every operation is bounded by `timeout`; a client that is reconnecting is not even asked, and after
 *   a failure the circuit breaker refuses operations at once for a short while. So a dead Redis costs a
 *   call at most one `timeout`, and nothing when it is known to be down.
 * - Locks are `SET NX PX` with a random token, released by a compare-and-delete script: best effort, as
 *   a cache lock should be (no fencing; see the README).
 * - Contract version 2, with every optional group (batches, atomics, listing), so the type checker
 *   proves each group complete; its speed-only extras are in {@link RedisBackend.accelerations}.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { RedisBackend } from '@rapide/backend-redis'
 *
 * const cache = createCache({ domainKey: 'users', backend: new RedisBackend() }) // REDIS_URL
 * const getUser = cache.wrap('getUser', async (id: number) => db.users.find(id))
 */
export class RedisBackend
  implements
    AsyncBackend,
    BatchMethods<false, Uint8Array>,
    AtomicMethods<false, Uint8Array>,
    ListingMethods<false>
{
  readonly specificationVersion = 2
  readonly name = 'redis'
  readonly capabilities: BackendCapabilities<false> = {
    sync: false,
    persistent: true,
    shared: true,
    inProcessValues: false,
  }
  /** The ioredis client (yours if you passed one). */
  readonly client: Redis | Cluster
  /**
   * The store this backend talks to, without credentials: `redis://host:port/db` (standalone),
   * `redis-cluster://host:port,…` (the sorted seed nodes of a cluster), with `#keyPrefix=…` when a
   * client's own prefix separates its keys. Two backends over one store have the same id.
   */
  readonly storeId: string
  /** The most any operation may take, in ms (`timeout`). */
  private readonly timeoutMs: number
  /** The client's own `keyPrefix`: ioredis adds it to keys, but not to `SCAN` patterns or their results. */
  private readonly clientPrefix: string
  private readonly ownsClient: boolean
  /** Deadline, circuit breaker and typed errors of every operation. */
  private readonly envelope: OperationEnvelope
  /** Multi-key commands split by hash slot: only on a cluster. */
  private readonly fanOut: ClusterFanOut | undefined
  /** Merges the `getMany` calls of one tick into one read. */
  private readonly reads: ReadBatcher;

  /**
   * A Redis backend from a URL: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS),
   * `redis+cluster://host1:7000,host2:7001` or `rediss+cluster://…` (a Redis Cluster's seed nodes), with
   * `timeout` and `circuitBreaker` in the query string, checked as constructor options are. The backend
   * owns its client. No error, event or `storeId` shows the password. What
   * `createCache({ backend: 'redis://…' })` and `RAPIDE_URL` use.
   *
   * @example
   * const backend = RedisBackend.fromUrl('rediss://app:s3cret@cache.internal:6380/2?timeout=1s')
   */
  /**
   * What `console.log(backend)` and `util.inspect` show: the store and its state, never the client (whose
   * options hold the password).
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedisBackend { storeId: ${JSON.stringify(this.storeId)}, status: ${JSON.stringify(this.status)} }`
  }

  static fromUrl(url: string): RedisBackend {
    return new RedisBackend(redisOptionsFromUrl(url))
  }

  constructor(options: RedisBackendOptions = {}) {
    checkOptions(options, OPTION_NAMES, 'new RedisBackend()')
    this.timeoutMs = parseTtl(options.timeout ?? '500ms', 'RedisBackend: timeout')
    // Every option is checked before a client connects: a refused option must not leave one reconnecting.
    const cooldownMs =
      options.circuitBreaker === false
        ? undefined
        : parseTtl(options.circuitBreaker ?? '1s', 'RedisBackend: circuitBreaker')
    if (options.client !== undefined) {
      if (options.url !== undefined)
        throw new InvalidOptionError('RedisBackend: give either url or client, not both')
      const fix = resendingOptions(options.client)
      if (fix !== undefined) {
        throw new InvalidOptionError(
          `RedisBackend: the client re-sends commands that a dropped connection left unanswered, so an incr could count twice and a lock be reported as not acquired while it is held; build it with ${fix}`,
        )
      }
      this.client = options.client
      this.ownsClient = false
      this.storeId = storeIdOfClient(options.client)
    } else {
      const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL
      const urls = typeof url === 'string' ? [url] : [...url]
      const cluster = options.cluster ?? urls.length > 1
      this.client = connect(urls, cluster, this.timeoutMs)
      this.ownsClient = true
      this.storeId = storeIdOfUrls(urls, cluster)
      // Failures reach callers as typed errors; without a listener ioredis would also print each one. A
      // refused SELECT (a database the server does not have) is reported only here, and ioredis would go
      // on in database 0, someone else's maybe: the client is stopped, so every operation fails instead.
      const client = this.client
      client.on('error', (error: unknown) => {
        if ((error as { command?: { name?: string } }).command?.name === 'select') client.disconnect()
      })
    }
    let breaker: CircuitBreaker | undefined
    if (cooldownMs !== undefined) {
      const notify = options.onCircuitChange
      // Runs inside timers and reply handlers: a throwing callback must not crash the process.
      breaker = new CircuitBreaker(cooldownMs, (state) => {
        if (notify === undefined) return
        const cause = breaker?.lastFailure
        isolateCallback('RedisBackend onCircuitChange', () => notify(state, cause))
      })
    }
    this.envelope = new OperationEnvelope(this.client, this.timeoutMs, breaker)
    this.clientPrefix = (this.client.options as { keyPrefix?: string }).keyPrefix ?? ''
    const isCluster = (this.client as { isCluster?: boolean }).isCluster === true
    this.fanOut = isCluster
      ? new ClusterFanOut(this.client as Cluster, this.clientPrefix, this.envelope)
      : undefined
    this.reads = new ReadBatcher((keys) => this.envelope.run('getMany', () => this.mget(keys)))
  }

  /** Where the connection and the circuit breaker stand, e.g. `{ connection: 'ready', circuit: 'closed' }`. */
  get status(): { connection: string; circuit: CircuitState } {
    return { connection: this.client.status, circuit: this.envelope.circuit }
  }

  /**
   * The speed-only extras, read once by each cache built over this backend: `setGuarded` (a new result
   * and its generation in one script) and `operationTimeoutMs` (the backend bounds its own operations, so
   * the core sets no timer of its own). The functions are bound to this backend.
   *
   * @example
   * const { setGuarded } = new RedisBackend().accelerations()
   * await setGuarded(
   *   { key: 'g', value: token, ttlMs: 60_000 },
   *   { key: 'r', value: bytes, ttlMs: 30_000 },
   * ) // writes `r` unless `g` holds another token
   */
  accelerations(): RedisAccelerations {
    return {
      setGuarded: (guard, entry) => this.storeGuarded(guard, entry),
      operationTimeoutMs: this.timeoutMs,
    }
  }

  // ---- required ------------------------------------------------------------------------------------

  get(key: string): Promise<Buffer | undefined> {
    return this.envelope.run('get', () => this.client.getBuffer(key), orUndefined)
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<void> {
    return this.envelope.run('set', () => setCommand(this.client, key, value, ttlMs, false), nothing)
  }

  delete(key: string): Promise<boolean> {
    return this.envelope.run(
      'delete',
      () => this.client.del(key),
      (n) => n > 0,
    )
  }

  // ---- batches -------------------------------------------------------------------------------------

  /** Reads merged per tick (see {@link ReadBatcher}): the hit path. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return this.envelope.answer([])
    return this.reads.read(keys)
  }

  /**
   * Writes the entries in one `MULTI`/`EXEC` (one entry: a plain `SET`, atomic by itself). On a cluster
   * that is one transaction per hash slot: atomic for the entries of one key group, group by group
   * otherwise. A batch of the core writes its function and domain invalidations in the domain's group
   * (one transaction) and each result invalidation in its result's group.
   */
  setMany(entries: readonly BackendEntry[]): Promise<void> {
    if (entries.length === 0) return this.envelope.answer(undefined)
    const groups = this.fanOut === undefined ? [entries] : this.fanOut.bySlot(entries, (e) => e.key)
    return this.envelope.run(
      'setMany',
      () => Promise.all(groups.map((group) => this.writeTogether(group))),
      nothing,
    )
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return this.envelope.answer(0)
    return this.envelope.run('deleteMany', () => this.deleteKeys(keys, 'del'))
  }

  // ---- atomics -------------------------------------------------------------------------------------

  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
    return this.envelope.run(
      'setNx',
      () => setCommand(this.client, key, value, ttlMs, true),
      (reply) => reply === 'OK',
    )
  }

  deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return this.envelope.run(
      'deleteIfEquals',
      () => deleteIfEqualsScript.run(this.client, [key], [value]),
      (deleted) => deleted === 1,
    )
  }

  /**
   * `INCRBY` in a script that refuses (`CounterOverflowError`, counter unchanged) a result outside
   * ±`Number.MAX_SAFE_INTEGER`: beyond it the number Redis returns could not be represented exactly.
   */
  incr(key: string, delta: number, ttlMs: number | undefined): Promise<number> {
    return this.envelope.run('incr', async () => {
      try {
        const ttl = scriptTtl(ttlMs)
        return Number(await incrScript.run(this.client, [key], [String(delta), ttl]))
      } catch (error) {
        if (error instanceof Error && /not an integer/.test(error.message)) throw new NotACounterError(key)
        if (error instanceof Error && COUNTER_OVERFLOW.test(error.message))
          throw new CounterOverflowError(key)
        throw error
      }
    })
  }

  expire(key: string, ttlMs: number | undefined): Promise<boolean> {
    const ttl = scriptTtl(ttlMs)
    return this.envelope.run(
      'expire',
      () => expireScript.run(this.client, [key], [ttl]),
      (done) => done === 1,
    )
  }

  // ---- listing -------------------------------------------------------------------------------------

  /** Lists the keys under `prefix` with `SCAN` on every master (never `KEYS`), the prefix glob-escaped. */
  async *keys(prefix: string): AsyncIterable<string> {
    const { clientPrefix } = this
    const nodes = this.fanOut === undefined ? [this.client as Redis] : await this.fanOut.masters()
    const seen = new Set<string>()
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, batch] = await this.envelope.run('keys', () =>
          node.scan(cursor, 'MATCH', `${escapeGlob(clientPrefix + prefix)}*`, 'COUNT', SCAN_COUNT),
        )
        cursor = next
        for (const raw of batch) {
          const key = raw.slice(clientPrefix.length)
          // A slot moving during the scan may show a key twice.
          if (!seen.has(key)) {
            seen.add(key)
            yield key
          }
        }
      } while (cursor !== '0')
    }
  }

  /** Removes every key under `prefix`: `SCAN` on every master, `UNLINK` batch by batch. */
  async deletePrefix(prefix: string): Promise<number> {
    let removed = 0
    let batch: string[] = []
    for await (const key of this.keys(prefix)) {
      batch.push(key)
      if (batch.length >= SCAN_COUNT) {
        const keys = batch
        batch = []
        removed += await this.envelope.run('deletePrefix', () => this.deleteKeys(keys, 'unlink'))
      }
    }
    if (batch.length > 0) {
      const keys = batch
      removed += await this.envelope.run('deletePrefix', () => this.deleteKeys(keys, 'unlink'))
    }
    return removed
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  ping(): Promise<boolean> {
    return this.envelope.run(
      'ping',
      () => this.client.ping(),
      (reply) => reply === 'PONG',
    )
  }

  /**
   * Closes the connection if the backend opened it (a client you passed in stays open). Idempotent.
   * From then on every operation rejects with `ClosedError`, whoever owns the client.
   */
  async close(): Promise<void> {
    if (this.envelope.isClosed) return
    this.envelope.close()
    if (!this.ownsClient || this.client.status === 'end') return
    const ended = new Promise((resolve) => this.client.once('end', resolve))
    try {
      await withTimeout(this.client.quit(), this.timeoutMs, 'close')
    } catch {
      // A server that does not answer QUIT in time is simply left: the socket is dropped below.
    }
    this.client.disconnect()
    // Resolved once the socket is gone, so nothing of the backend keeps the process alive.
    await withTimeout(ended, this.timeoutMs, 'close').catch(() => undefined)
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  /** One merged read: one `MGET`, or on a cluster one `MGET` per hash slot, sent together. */
  private mget(keys: string[]): Promise<ReadResult[]> {
    return this.fanOut === undefined ? this.client.mgetBuffer(keys) : this.fanOut.mget(keys)
  }

  /** Entries of one slot, all or none: one `MULTI`/`EXEC`, or a plain `SET` for one entry. */
  private async writeTogether(group: readonly BackendEntry[]): Promise<void> {
    if (group.length === 1) {
      const { key, value, ttlMs } = group[0]!
      await setCommand(this.client, key, value, ttlMs, false)
      return
    }
    const transaction = this.client.multi()
    for (const { key, value, ttlMs } of group) {
      if (ttlMs === undefined) transaction.set(key, toBuffer(value))
      else transaction.set(key, toBuffer(value), 'PX', positiveMs(ttlMs))
    }
    const replies = await transaction.exec()
    for (const [error] of replies ?? []) if (error) throw error
  }

  /** Deletes keys with one command (one per hash slot on a cluster); returns how many existed. */
  private deleteKeys(keys: readonly string[], command: 'del' | 'unlink'): Promise<number> {
    return this.fanOut === undefined ? this.client[command](...keys) : this.fanOut.delete(keys, command)
  }

  /**
   * One script (one round trip, atomic): `SET guard NX [PX]`, then `SET entry [PX]` unless the guard
   * holds another value. Skipping that entry is what keeps a computation that finishes late (after a
   * newer one, or after a refresh) from replacing a valid entry with one no reader accepts.
   *
   * The core's guard and entry share a key group, so the script runs on a cluster too. Keys of different
   * slots (possible through the contract, never from the core) take two steps instead: `SET guard NX`,
   * then, unless it stored, `GET guard`, then the entry if the guard holds our value; not atomic, but a
   * guard changing in between only makes the entry one that readers refuse, as the contract allows.
   *
   * Not named `setGuarded`: contract version 2 refuses a backend with that method (it belongs in
   * {@link RedisBackend.accelerations}).
   */
  private storeGuarded(guard: BackendEntry, entry: BackendEntry): Promise<void> {
    const { client } = this
    if (this.fanOut !== undefined && !this.fanOut.sameSlot([guard.key, entry.key])) {
      return this.envelope.run('setGuarded', async () => {
        const created = await setCommand(client, guard.key, guard.value, guard.ttlMs, true)
        if (created !== 'OK') {
          const held = await client.getBuffer(guard.key)
          if (held === null || !held.equals(toBuffer(guard.value))) return
        }
        await setCommand(client, entry.key, entry.value, entry.ttlMs, false)
      })
    }
    return this.envelope.run(
      'setGuarded',
      () =>
        setGuardedScript.run(
          client,
          [guard.key, entry.key],
          [guard.value, scriptTtl(guard.ttlMs), entry.value, scriptTtl(entry.ttlMs)],
        ),
      nothing,
    )
  }
}

function orUndefined(value: Buffer | null | undefined): Buffer | undefined {
  return value ?? undefined
}

function nothing(): void {}
