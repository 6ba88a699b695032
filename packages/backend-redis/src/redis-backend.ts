import {
  type Backend,
  type BackendCapabilities,
  type BackendEntry,
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  ClosedError,
  InvalidOptionError,
  NotACounterError,
  parseTtl,
  type Ttl,
  withTimeout,
} from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js'
import { connect, DEFAULT_REDIS_URL } from './connect.js'
import { Deadlines, type Pending } from './deadlines.js'
import { escapeGlob } from './glob-escape.js'
import { ReadBatcher } from './read-batcher.js'
import { deleteIfEqualsScript, expireScript, incrScript } from './scripts.js'
import { groupBySlot } from './slots.js'

/** Options shared by both ways of building a {@link RedisBackend}. */
export interface RedisBackendCommonOptions {
  /**
   * The most any operation may take, seconds or a duration string (`'500ms'`). A call never waits longer
   * on a dead or unreachable Redis: the operation fails with `BackendTimeoutError` and the cache's
   * `onError` policy applies. Default `'500ms'`.
   */
  timeout?: Ttl
  /**
   * After a failure to reach Redis, refuse operations at once (`BackendUnavailableError`) for this long,
   * then let one through as a trial; `false` to disable. Default `'1s'`.
   */
  circuitBreaker?: Ttl | false
  /** Called when the circuit breaker opens, half-opens or closes; `cause` is the failure that opened it. */
  onCircuitChange?: (state: CircuitState, cause: unknown) => void
}

/** Connect by URL: the backend owns the client and closes it on `close()`. */
export interface RedisUrlOptions extends RedisBackendCommonOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. Several URLs seed a cluster client.
   * Default: the `REDIS_URL` environment variable, else `redis://127.0.0.1:6379`.
   */
  url?: string | readonly string[]
  /** Connect to a Redis Cluster seeded by `url`. Default: `true` when `url` lists several servers. */
  cluster?: boolean
  client?: never
}

/** Use an existing ioredis client: the backend never closes it. */
export interface RedisClientOptions extends RedisBackendCommonOptions {
  /** An ioredis `Redis` or `Cluster`. Its `keyPrefix` option is honoured, listings included. */
  client: Redis | Cluster
  url?: never
  cluster?: never
}

/** Options of {@link RedisBackend}. */
export type RedisBackendOptions = RedisUrlOptions | RedisClientOptions

/** Client states in which a command would only wait in the offline queue: refuse it at once instead. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end'])
/** Errors Redis answers with while it cannot serve: the server is unavailable, not the request wrong. */
const UNAVAILABLE_REPLIES = /^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|BUSY)\b/
/** Keys per `SCAN` step and per `UNLINK`/`MGET` batch of a listing or a prefix delete. */
const SCAN_COUNT = 1000

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
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { RedisBackend } from '@rapide/backend-redis'
 *
 * const cache = createCache({ domainKey: 'users', backend: new RedisBackend() }) // REDIS_URL
 * const getUser = cache.wrap('getUser', async (id: number) => db.users.find(id))
 */
export class RedisBackend implements Backend {
  readonly specificationVersion = 1 as const
  readonly name = 'redis'
  readonly capabilities: BackendCapabilities = {
    sync: false,
    persistent: true,
    shared: true,
    inProcessValues: false,
  }
  /** The ioredis client (yours if you passed one). */
  readonly client: Redis | Cluster
  /** The most any operation may take, in ms (the core relies on it and sets no timer of its own). */
  readonly operationTimeoutMs: number
  private readonly ownsClient: boolean
  private readonly isCluster: boolean
  /** The client's own `keyPrefix`: ioredis adds it to keys, but not to `SCAN` patterns or results. */
  private readonly clientPrefix: string
  private readonly breaker: CircuitBreaker | undefined
  private readonly deadlines: Deadlines
  /** Merges the `getMany` calls of one tick into one read. */
  private readonly reads: ReadBatcher
  private clusterReady: Promise<void> | undefined
  private closed = false

  constructor(options: RedisBackendOptions = {}) {
    this.operationTimeoutMs = parseTtl(options.timeout ?? '500ms', 'RedisBackend: timeout')
    this.deadlines = new Deadlines(this.operationTimeoutMs)
    this.reads = new ReadBatcher((keys) => this.run('getMany', () => this.mget(keys)))
    if (options.client !== undefined) {
      if (options.url !== undefined)
        throw new InvalidOptionError('RedisBackend: give either url or client, not both')
      this.client = options.client
      this.ownsClient = false
    } else {
      const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL
      const several = typeof url !== 'string' && url.length > 1
      this.client = connect(url, options.cluster ?? several, this.operationTimeoutMs)
      this.ownsClient = true
      // Failures reach callers as typed errors; without a listener ioredis would also print each one.
      this.client.on('error', () => {})
    }
    this.isCluster = (this.client as { isCluster?: boolean }).isCluster === true
    this.clientPrefix = (this.client.options as { keyPrefix?: string }).keyPrefix ?? ''
    if (options.circuitBreaker !== false) {
      const cooldownMs = parseTtl(options.circuitBreaker ?? '1s', 'RedisBackend: circuitBreaker')
      const notify = options.onCircuitChange
      this.breaker = new CircuitBreaker(cooldownMs, (state) => notify?.(state, this.breaker?.lastFailure))
    }
  }

  /** Where the connection and the circuit breaker stand, e.g. `{ connection: 'ready', circuit: 'closed' }`. */
  get status(): { connection: string; circuit: CircuitState } {
    return { connection: this.client.status, circuit: this.breaker?.state ?? 'closed' }
  }

  // ---- the contract ---------------------------------------------------------------------------------

  get(key: string): Promise<Buffer | undefined> {
    return this.run('get', () => this.client.getBuffer(key), orUndefined)
  }

  set(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<void> {
    return this.run('set', () => this.setCommand(key, value, ttlMs, false)).then(nothing)
  }

  delete(key: string): Promise<boolean> {
    return this.run('delete', () => this.client.del(key)).then((n) => n > 0)
  }

  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.reads.read(keys)
  }

  /** One merged read: one `MGET`, or on a cluster one `MGET` per hash slot, sent together. */
  private mget(keys: string[]): Promise<(Buffer | null)[]> {
    return this.isCluster ? this.mgetBySlot(keys) : this.client.mgetBuffer(keys)
  }

  private async mgetBySlot(keys: string[]): Promise<(Buffer | null)[]> {
    const out = new Array<Buffer | null>(keys.length)
    await Promise.all(
      [...groupBySlot(keys).values()].map(async (positions) => {
        const values = await this.client.mgetBuffer(positions.map((i) => keys[i]!))
        positions.forEach((position, j) => {
          out[position] = values[j] ?? null
        })
      }),
    )
    return out
  }

  /**
   * Writes the entries in one `MULTI`/`EXEC`. On a cluster that is one transaction per hash slot: atomic
   * for the entries of one key group (every invalidation batch of the core is), group by group otherwise.
   */
  setMany(entries: readonly BackendEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve()
    const groups = this.isCluster
      ? [...groupBySlot(entries.map((e) => e.key)).values()].map((positions) =>
          positions.map((i) => entries[i]!),
        )
      : [entries]
    return this.run('setMany', async () => {
      await Promise.all(
        groups.map(async (group) => {
          const transaction = this.client.multi()
          for (const { key, value, ttlMs } of group) {
            if (ttlMs === undefined) transaction.set(key, toBuffer(value))
            else transaction.set(key, toBuffer(value), 'PX', positiveMs(ttlMs))
          }
          const replies = await transaction.exec()
          for (const [error] of replies ?? []) if (error) throw error
        }),
      )
    }).then(nothing)
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0)
    return this.run('deleteMany', () => this.unlink(keys, 'del'))
  }

  setNx(key: string, value: Uint8Array, ttlMs: number | undefined): Promise<boolean> {
    return this.run('setNx', () => this.setCommand(key, value, ttlMs, true)).then((reply) => reply === 'OK')
  }

  /**
   * `SET guard NX PX` and `SET entry PX`, sent together: one round trip (on a cluster the two keys are in
   * different slots, so they cannot share a script; the entry is written whatever the guard's outcome,
   * which the contract allows: a reader only accepts it if the guard holds the token it was stamped with).
   */
  setGuarded(guard: BackendEntry, entry: BackendEntry): Promise<void> {
    return this.run('setGuarded', () =>
      Promise.all([
        this.setCommand(guard.key, guard.value, guard.ttlMs, true),
        this.setCommand(entry.key, entry.value, entry.ttlMs, false),
      ]),
    ).then(nothing)
  }

  deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return this.run('deleteIfEquals', () => deleteIfEqualsScript.run(this.client, [key], [value])).then(
      (deleted) => deleted === 1,
    )
  }

  incr(key: string, delta: number, ttlMs: number | undefined): Promise<number> {
    return this.run('incr', async () => {
      try {
        const ttl = ttlMs === undefined ? '' : String(positiveMs(ttlMs))
        return Number(await incrScript.run(this.client, [key], [String(delta), ttl]))
      } catch (error) {
        if (error instanceof Error && /not an integer/.test(error.message)) throw new NotACounterError(key)
        throw error
      }
    })
  }

  expire(key: string, ttlMs: number | undefined): Promise<boolean> {
    const ttl = ttlMs === undefined ? '' : String(positiveMs(ttlMs))
    return this.run('expire', () => expireScript.run(this.client, [key], [ttl])).then((done) => done === 1)
  }

  /** Lists the keys under `prefix` with `SCAN` on every master (never `KEYS`), the prefix glob-escaped. */
  async *keys(prefix: string): AsyncIterable<string> {
    const seen = new Set<string>()
    for (const node of await this.masters()) {
      let cursor = '0'
      do {
        const [next, batch] = await this.run('keys', () =>
          node.scan(cursor, 'MATCH', `${escapeGlob(this.clientPrefix + prefix)}*`, 'COUNT', SCAN_COUNT),
        )
        cursor = next
        for (const raw of batch) {
          const key = raw.slice(this.clientPrefix.length)
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
        removed += await this.run('deletePrefix', () => this.unlink(keys, 'unlink'))
      }
    }
    if (batch.length > 0) removed += await this.run('deletePrefix', () => this.unlink(batch, 'unlink'))
    return removed
  }

  ping(): Promise<boolean> {
    return this.run('ping', () => this.client.ping()).then((reply) => reply === 'PONG')
  }

  /** Closes the connection if the backend opened it (a client you passed in stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (!this.ownsClient || this.client.status === 'end') return
    const ended = new Promise((resolve) => this.client.once('end', resolve))
    try {
      await withTimeout(this.client.quit(), this.operationTimeoutMs, 'close')
    } catch {
      // A server that does not answer QUIT in time is simply left: the socket is dropped below.
    }
    this.client.disconnect()
    // Resolved once the socket is gone, so nothing of the backend keeps the process alive.
    await withTimeout(ended, this.operationTimeoutMs, 'close').catch(() => undefined)
  }

  // ---- plumbing -------------------------------------------------------------------------------------

  /**
   * Runs one operation within the time bound, through the circuit breaker, with typed errors:
   * `BackendUnavailableError` when Redis cannot be reached (or is known to be down), `BackendTimeoutError`
   * when it did not answer in time, `BackendError` when it answered with an error.
   */
  private run<T>(operation: string, work: () => Promise<T>): Promise<T>
  private run<T, R>(operation: string, work: () => Promise<T>, map: (value: T) => R): Promise<R>
  private run<T, R>(operation: string, work: () => Promise<T>, map?: (value: T) => R): Promise<T | R> {
    if (this.closed) return Promise.reject(new ClosedError('Redis backend'))
    const status = this.client.status
    if (DOWN_STATES.has(status)) {
      return Promise.reject(
        new BackendUnavailableError(
          `Redis ${operation}: the connection is ${status}, not sending the command`,
        ),
      )
    }
    const { breaker, deadlines } = this
    if (breaker !== undefined && !breaker.admit()) {
      const cause = breaker.lastFailure
      const reason = cause instanceof Error ? cause.message : String(cause)
      return Promise.reject(
        new BackendUnavailableError(`Redis ${operation}: circuit open after a failure (${reason})`, cause),
      )
    }
    let started: Promise<T>
    try {
      started = work()
    } catch (error) {
      started = Promise.reject(error)
    }
    // One promise per operation: settled by the reply or, if that is late, by the deadline.
    return new Promise<T | R>((resolve, reject) => {
      const pending: Pending = {
        operation,
        startedAt: Date.now(),
        settled: false,
        expire: (timeout) => {
          pending.settled = true
          breaker?.failed(timeout)
          reject(timeout)
        },
      }
      deadlines.track(pending)
      started.then(
        (value) => {
          if (pending.settled) return
          pending.settled = true
          deadlines.done(pending)
          breaker?.succeeded()
          resolve(map === undefined ? value : map(value))
        },
        (error: unknown) => {
          if (pending.settled) return
          pending.settled = true
          deadlines.done(pending)
          const typed = this.classify(operation, error)
          if (typed instanceof BackendError || typed instanceof NotACounterError) breaker?.succeeded()
          else breaker?.failed(typed)
          reject(typed)
        },
      )
    })
  }

  private classify(operation: string, error: unknown): Error {
    if (error instanceof BackendTimeoutError || error instanceof NotACounterError) return error
    const message = error instanceof Error ? error.message : String(error)
    const answered =
      error instanceof Error && error.name === 'ReplyError' && !UNAVAILABLE_REPLIES.test(message)
    if (answered) return new BackendError(operation, error)
    return new BackendUnavailableError(`Redis ${operation} failed: ${message}`, error)
  }

  /** `SET key value [PX ttl] [NX]`, with the contract's TTL semantics (none clears a previous expiry). */
  private setCommand(
    key: string,
    value: Uint8Array,
    ttlMs: number | undefined,
    onlyIfAbsent: boolean,
  ): Promise<'OK' | null> {
    const bytes = toBuffer(value)
    if (ttlMs === undefined)
      return onlyIfAbsent ? this.client.set(key, bytes, 'NX') : this.client.set(key, bytes)
    const px = positiveMs(ttlMs)
    return onlyIfAbsent ? this.client.set(key, bytes, 'PX', px, 'NX') : this.client.set(key, bytes, 'PX', px)
  }

  /** Deletes keys with one command per hash slot (one command on a standalone server); returns the count. */
  private async unlink(keys: readonly string[], command: 'del' | 'unlink'): Promise<number> {
    if (!this.isCluster) return this.client[command](...keys)
    const counts = await Promise.all(
      [...groupBySlot(keys).values()].map((positions) =>
        this.client[command](...positions.map((i) => keys[i]!)),
      ),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /**
   * The servers a listing must scan. A cluster client knows its masters only once it has loaded the slot
   * map: before that, wait for it (within the time bound) rather than list nothing and clear nothing.
   */
  private async masters(): Promise<Redis[]> {
    if (!this.isCluster) return [this.client as Redis]
    const cluster = this.client as Cluster
    if (cluster.status !== 'ready') {
      // One listener however many listings wait (each waits within its own bound).
      this.clusterReady ??= new Promise<void>((resolve) =>
        cluster.once('ready', () => {
          this.clusterReady = undefined
          resolve()
        }),
      )
      const ready = this.clusterReady
      await this.run('keys', () => ready)
    }
    const masters = cluster.nodes('master')
    if (masters.length === 0)
      throw new BackendUnavailableError('Redis keys: the cluster has no reachable master')
    return masters
  }
}

function orUndefined(value: Buffer | null | undefined): Buffer | undefined {
  return value ?? undefined
}

function nothing(): void {}

/** ioredis takes Buffers: a Uint8Array is viewed, not copied. */
function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** `PX` needs a positive integer: a sub-millisecond TTL is rounded up to 1 ms. */
function positiveMs(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs))
}
