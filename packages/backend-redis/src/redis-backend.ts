import {
  type Backend,
  type BackendCapabilities,
  type BackendEntry,
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  ClosedError,
  CounterOverflowError,
  checkOptions,
  InvalidOptionError,
  isolateCallback,
  NotACounterError,
  OutcomeUnknownError,
  parseTtl,
  type Ttl,
  withTimeout,
} from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js'
import { connect, DEFAULT_REDIS_URL, resendingOptions, storeIdOfClient, storeIdOfUrls } from './connect.js'
import { Deadlines, type Pending } from './deadlines.js'
import { escapeGlob } from './glob-escape.js'
import { ReadBatcher, ReadFailure, type ReadResult } from './read-batcher.js'
import { deleteIfEqualsScript, expireScript, incrScript, setGuardedScript } from './scripts.js'
import { groupBySlot, isMigrationError, sameSlot } from './slots.js'

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
  /**
   * Called when the circuit breaker opens, half-opens or closes; `cause` is the failure that opened it.
   * A callback that throws (or returns a rejected promise) is reported as a `RapideCallbackWarning`
   * process warning; it never breaks the backend.
   */
  onCircuitChange?: (state: CircuitState, cause: unknown) => unknown
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
  /**
   * An ioredis `Redis` or `Cluster`. Its `keyPrefix` option is honoured, listings and cluster slots
   * included. It must not re-send commands a dropped connection left unanswered (an `incr` would apply
   * twice): build it with `autoResendUnfulfilledCommands: false`, a `Cluster` with
   * `retryDelayOnFailover: 0, redisOptions: { autoResendUnfulfilledCommands: false }`; another is
   * refused with `InvalidOptionError`.
   *
   * @example
   * new RedisBackend({ client: new Redis(url, { autoResendUnfulfilledCommands: false }) })
   */
  client: Redis | Cluster
  url?: never
  cluster?: never
}

/** Options of {@link RedisBackend}. */
export type RedisBackendOptions = RedisUrlOptions | RedisClientOptions

/** Client states in which a command would only wait in the offline queue: refuse it at once instead. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end'])
/** Errors Redis answers with while it cannot serve: the server is unavailable, not the request wrong. */
const UNAVAILABLE_REPLIES = /^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|BUSY|ASK|MOVED)\b/
/** Every option of the constructor (anything else is a typo or a feature that does not exist). */
const OPTION_NAMES = ['url', 'cluster', 'client', 'timeout', 'circuitBreaker', 'onCircuitChange']
/**
 * Operations whose outcome the caller cannot learn again by asking twice: an `INCRBY` applied and then
 * re-sent counts twice, a `SET NX` re-sent finds its own value and says "not stored", a compare-and-delete
 * re-sent says "not deleted". When their connection drops (or their time runs out) after they may have
 * reached Redis, they fail with `OutcomeUnknownError` instead of a result that may be wrong.
 */
const AT_MOST_ONCE = new Set(['incr', 'setNx', 'setGuarded', 'deleteIfEquals'])
/** How long a slot that answered a merged read with a migration error is read key by key. */
const MIGRATING_SLOT_MS = 1000
/** Redis's error for a counter whose result would not fit its 64-bit integer, and our script's own. */
const COUNTER_OVERFLOW = /would overflow|RAPIDE_COUNTER_OVERFLOW/

/** The connection of an operation under way was lost before its reply came. */
class ConnectionLostError extends Error {
  constructor(operation: string) {
    super(`Redis ${operation}: the connection was lost before the reply`)
    this.name = 'ConnectionLostError'
  }
}
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
  /**
   * The store this backend talks to, without credentials: `redis://host:port/db` (standalone),
   * `redis-cluster://host:port,…` (the sorted seed nodes of a cluster), with `#keyPrefix=…` when a
   * client's own prefix separates its keys. Two backends over one store have the same id.
   */
  readonly storeId: string
  private readonly ownsClient: boolean
  private readonly isCluster: boolean
  /** The client's own `keyPrefix`: ioredis adds it to keys, but not to `SCAN` patterns or results. */
  private readonly clientPrefix: string
  private readonly breaker: CircuitBreaker | undefined
  private readonly deadlines: Deadlines
  /** Merges the `getMany` calls of one tick into one read. */
  private readonly reads: ReadBatcher
  private clusterReady: Promise<void> | undefined
  /** Cluster slots whose merged reads recently met a migration: read key by key until the time noted. */
  private readonly migratingSlots = new Map<number, number>()
  /** On a standalone client: fails the operations under way when their connection closes. */
  private readonly onConnectionClosed: (() => void) | undefined
  private closed = false

  constructor(options: RedisBackendOptions = {}) {
    checkOptions(options, OPTION_NAMES, 'new RedisBackend()')
    this.operationTimeoutMs = parseTtl(options.timeout ?? '500ms', 'RedisBackend: timeout')
    this.deadlines = new Deadlines(this.operationTimeoutMs)
    this.reads = new ReadBatcher((keys) => this.run('getMany', () => this.mget(keys)))
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
      this.client = connect(urls, cluster, this.operationTimeoutMs)
      this.ownsClient = true
      this.storeId = storeIdOfUrls(urls, cluster)
      // Failures reach callers as typed errors; without a listener ioredis would also print each one.
      this.client.on('error', () => {})
    }
    this.isCluster = (this.client as { isCluster?: boolean }).isCluster === true
    this.clientPrefix = (this.client.options as { keyPrefix?: string }).keyPrefix ?? ''
    if (!this.isCluster) {
      // Without re-sending, ioredis drops the commands a closed connection left unanswered without
      // settling them: fail them now instead of at their deadline. (A cluster's nodes reject them.)
      this.onConnectionClosed = () =>
        this.deadlines.failAll((pending) => new ConnectionLostError(pending.operation))
      this.client.on('close', this.onConnectionClosed)
    }
    if (options.circuitBreaker !== false) {
      const cooldownMs = parseTtl(options.circuitBreaker ?? '1s', 'RedisBackend: circuitBreaker')
      const notify = options.onCircuitChange
      // Runs inside timers and reply handlers: a throwing callback must not crash the process.
      this.breaker = new CircuitBreaker(cooldownMs, (state) => {
        if (notify === undefined) return
        const cause = this.breaker?.lastFailure
        isolateCallback('RedisBackend onCircuitChange', () => notify(state, cause))
      })
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
  private mget(keys: string[]): Promise<ReadResult[]> {
    return this.isCluster ? this.mgetBySlot(keys) : this.client.mgetBuffer(keys)
  }

  /**
   * A slot being migrated answers a multi-key read with `TRYAGAIN` as long as some of its keys have moved
   * (or are absent: a miss), for as long as the migration lasts. That slot's keys are then read one by
   * one (single-key reads follow `ASK` to the importing node), and a key that still fails fails only
   * the calls that read it: the other slots of the merged read, and the other keys, are served.
   */
  private async mgetBySlot(keys: string[]): Promise<ReadResult[]> {
    const out = new Array<ReadResult>(keys.length)
    const now = Date.now()
    await Promise.all(
      [...groupBySlot(keys, this.clientPrefix)].map(async ([slot, positions]) => {
        const migrating = (this.migratingSlots.get(slot) ?? 0) > now
        // A lone key goes the single-key way at once: its failure is then its own readers' alone.
        if (!migrating && positions.length > 1) {
          try {
            const values = await this.client.mgetBuffer(positions.map((i) => keys[i]!))
            positions.forEach((position, j) => {
              out[position] = values[j] ?? null
            })
            return
          } catch (error) {
            if (!isMigrationError(error)) throw error
            this.migratingSlots.set(slot, Date.now() + MIGRATING_SLOT_MS)
          }
        }
        await Promise.all(
          positions.map(async (position) => {
            try {
              out[position] = await this.client.getBuffer(keys[position]!)
            } catch (error) {
              if (!isMigrationError(error)) throw error
              out[position] = new ReadFailure(this.classify('getMany', error))
            }
          }),
        )
      }),
    )
    return out
  }

  /**
   * Writes the entries in one `MULTI`/`EXEC` (one entry: a plain `SET`, atomic by itself). On a cluster
   * that is one transaction per hash slot: atomic for the entries of one key group, group by group
   * otherwise. A batch of the core writes its function and domain invalidations in the domain's group
   * (one transaction) and each result invalidation in its result's group.
   */
  setMany(entries: readonly BackendEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve()
    const groups = this.isCluster
      ? [
          ...groupBySlot(
            entries.map((e) => e.key),
            this.clientPrefix,
          ).values(),
        ].map((positions) => positions.map((i) => entries[i]!))
      : [entries]
    return this.run('setMany', async () => {
      await Promise.all(
        groups.map(async (group) => {
          if (group.length === 1) {
            const { key, value, ttlMs } = group[0]!
            await this.setCommand(key, value, ttlMs, false)
            return
          }
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
   * One script (one round trip, atomic): `SET guard NX [PX]`, then `SET entry [PX]` unless the guard
   * holds another value. Skipping that entry is what keeps a computation that finishes late (after a
   * newer one, or after a refresh) from replacing a valid entry with one no reader accepts.
   *
   * The core's guard and entry share a key group, so the script runs on a cluster too. Keys of different
   * slots (possible through the contract, never from the core) take two steps instead: `SET guard NX`,
   * then, unless it stored, `GET guard`, then the entry if the guard holds our value; not atomic, but a
   * guard changing in between only makes the entry one that readers refuse, as the contract allows.
   */
  setGuarded(guard: BackendEntry, entry: BackendEntry): Promise<void> {
    if (this.isCluster && !sameSlot([guard.key, entry.key], this.clientPrefix)) {
      return this.run('setGuarded', async () => {
        const created = await this.setCommand(guard.key, guard.value, guard.ttlMs, true)
        if (created !== 'OK') {
          const held = await this.client.getBuffer(guard.key)
          if (held === null || !held.equals(toBuffer(guard.value))) return
        }
        await this.setCommand(entry.key, entry.value, entry.ttlMs, false)
      })
    }
    return this.run('setGuarded', () =>
      setGuardedScript.run(
        this.client,
        [guard.key, entry.key],
        [guard.value, scriptTtl(guard.ttlMs), entry.value, scriptTtl(entry.ttlMs)],
      ),
    ).then(nothing)
  }

  deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return this.run('deleteIfEquals', () => deleteIfEqualsScript.run(this.client, [key], [value])).then(
      (deleted) => deleted === 1,
    )
  }

  /**
   * `INCRBY` in a script that refuses (`CounterOverflowError`, counter unchanged) a result outside
   * ±`Number.MAX_SAFE_INTEGER`: beyond it the number Redis returns could not be represented exactly.
   */
  incr(key: string, delta: number, ttlMs: number | undefined): Promise<number> {
    return this.run('incr', async () => {
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
    if (this.onConnectionClosed !== undefined) this.client.off('close', this.onConnectionClosed)
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
    // Whether the command goes straight onto a live connection (else it waits for the first one).
    const live = status === 'ready'
    // One promise per operation: settled by the reply or, if that is late, by the deadline (or, on a
    // standalone client, by the loss of its connection).
    return new Promise<T | R>((resolve, reject) => {
      const pending: Pending = {
        operation,
        startedAt: Date.now(),
        settled: false,
        expire: (error) => {
          pending.settled = true
          const typed =
            error instanceof ConnectionLostError ? new BackendUnavailableError(error.message, error) : error
          breaker?.failed(typed)
          // Late or lost, the command may still have reached Redis (or reach it yet).
          reject(AT_MOST_ONCE.has(operation) ? new OutcomeUnknownError(operation, typed) : typed)
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
          const replied = isReply(error)
          // A reply (even an error) proves the server alive; so does a slot on the move, which concerns
          // the keys of that slot only: neither opens the circuit for everything else.
          if (replied || isMigrationError(error)) breaker?.succeeded()
          else breaker?.failed(typed)
          // No reply: a command sent on a live connection may have been applied before it dropped.
          const unknown = AT_MOST_ONCE.has(operation) && live && !replied && !isMigrationError(error)
          reject(
            unknown && !(typed instanceof BackendTimeoutError)
              ? new OutcomeUnknownError(operation, typed)
              : typed,
          )
        },
      )
    })
  }

  private classify(operation: string, error: unknown): Error {
    if (
      error instanceof BackendTimeoutError ||
      error instanceof NotACounterError ||
      error instanceof CounterOverflowError
    )
      return error
    const message = error instanceof Error ? error.message : String(error)
    const answered = isReply(error) && !UNAVAILABLE_REPLIES.test(message)
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

  /**
   * Deletes keys with one command per hash slot (one command on a standalone server); returns the count.
   * A slot being migrated refuses a multi-key delete (`TRYAGAIN`): its keys are then deleted one by one.
   */
  private async unlink(keys: readonly string[], command: 'del' | 'unlink'): Promise<number> {
    if (!this.isCluster) return this.client[command](...keys)
    const counts = await Promise.all(
      [...groupBySlot(keys, this.clientPrefix).values()].map(async (positions) => {
        const group = positions.map((i) => keys[i]!)
        try {
          return await this.client[command](...group)
        } catch (error) {
          if (!isMigrationError(error) || group.length === 1) throw error
          const each = await Promise.all(group.map((key) => this.client[command](key)))
          return each.reduce((a, b) => a + b, 0)
        }
      }),
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

/** An error Redis answered with (the command was received, and refused), or one of our typed refusals. */
function isReply(error: unknown): boolean {
  return (
    (error instanceof Error && error.name === 'ReplyError') ||
    error instanceof NotACounterError ||
    error instanceof CounterOverflowError
  )
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

/** A TTL as a script argument: milliseconds, or empty for none. */
function scriptTtl(ttlMs: number | undefined): string {
  return ttlMs === undefined ? '' : String(positiveMs(ttlMs))
}
