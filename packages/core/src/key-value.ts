import type { AnyBackend, OnBackend } from './backend/contract.js'
import type { CacheContext } from './context.js'
import { randomToken } from './coordination/random-token.js'
import { InvalidOptionError } from './errors.js'
import { compileGlob } from './keys/glob.js'
import { chain, type MaybePromise } from './maybe-promise.js'
import { checkOptions } from './options.js'
import { parseOptionalTtl, parseTtl, type Ttl } from './ttl.js'

/** Options of key-value reads and deletes. */
export interface KeyOptions {
  /** Overrides the cache's `version` for this call (impcache-style key versioning). */
  version?: string | number
}

/** Options of key-value writes. */
export interface SetOptions extends KeyOptions {
  /** Time to live; defaults to the cache's `defaultTtl`. */
  ttl?: Ttl
}

/** Options of `lock`. */
export interface LockOptions {
  /** How long the lock is held at most, so a crashed holder cannot block forever. */
  ttl: Ttl
}

/** The options each kind of key-value call knows: anything else is refused, never silently ignored. */
const READ_OPTIONS = ['version'] as const
const SET_OPTIONS = ['ttl', 'version'] as const

/** Narrows an engine result to what the backend type promises. */
function typed<B extends AnyBackend, T>(value: MaybePromise<T>): OnBackend<B, T> {
  return value as OnBackend<B, T>
}

/**
 * The key-value API (impcache / cashews style), built on the backend contract so every backend has it.
 * Keys live under `{keyPrefix}{domain}:k:{version}:` and never meet wrapped-function entries.
 *
 * Unlike wrapped calls, which can fall back to computing, a failing key-value operation always throws
 * (a `BackendError`, also reported through the `error` event): a lost write must never look like success.
 */
export class KeyValueApi<B extends AnyBackend> {
  /** @internal */
  protected readonly ctx: CacheContext

  constructor(ctx: CacheContext) {
    this.ctx = ctx
  }

  private key(
    key: string,
    options: KeyOptions | undefined,
    allowed: readonly string[] = READ_OPTIONS,
  ): string {
    this.ctx.assertOpen()
    if (options !== undefined) checkOptions(options, allowed, 'Key-value call')
    if (typeof key !== 'string') throw new InvalidOptionError(`A key must be a string, got ${typeof key}`)
    const version = options?.version
    return this.ctx.layout.keyValue(key, version === undefined ? undefined : String(version))
  }

  private ttlMs(options: SetOptions | undefined): number | undefined {
    return parseOptionalTtl(options?.ttl, 'ttl') ?? this.ctx.defaultTtlMs
  }

  /**
   * Reads a value; `undefined` when absent or expired.
   * @example const user = await cache.get<User>('user:1')
   */
  get<T = unknown>(key: string, options?: KeyOptions): OnBackend<B, T | undefined> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const full = this.key(key, options)
      return typed(
        chain(ctx.store.get(full), (s) => {
          const value = ctx.values.decodeValue(s, full) as T
          ctx.statistics?.countKeyValueRead(value !== undefined)
          return value
        }),
      )
    })
  }

  /**
   * Stores a value, replacing any previous one.
   * @example await cache.set('user:1', user, { ttl: '5m' })
   */
  set(key: string, value: unknown, options?: SetOptions): OnBackend<B, void> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const full = this.key(key, options, SET_OPTIONS)
      const ttlMs = this.ttlMs(options)
      const stored = ctx.values.encodeValue(value, full)
      return typed(ctx.store.set(full, stored, ttlMs))
    })
  }

  /**
   * Stores a value only if the key holds nothing; returns whether it stored.
   * @example if (await cache.setNx('job:42', 'running', { ttl: 60 })) runJob()
   */
  setNx(key: string, value: unknown, options?: SetOptions): OnBackend<B, boolean> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const full = this.key(key, options, SET_OPTIONS)
      return typed(ctx.store.setNx(full, ctx.values.encodeValue(value, full), this.ttlMs(options)))
    })
  }

  /** Reads several keys in one round trip; one slot per key, in order. */
  getMany<T = unknown>(keys: readonly string[], options?: KeyOptions): OnBackend<B, (T | undefined)[]> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const full = keys.map((key) => this.key(key, options))
      return typed(
        chain(ctx.store.getMany(full), (values) =>
          values.map((s, i) => {
            const value = ctx.values.decodeValue(s, full[i]!) as T
            ctx.statistics?.countKeyValueRead(value !== undefined)
            return value
          }),
        ),
      )
    })
  }

  /**
   * Stores several values atomically: a reader sees all of them or none. Refused with `NotSupportedError`
   * on a backend without `setMany` unless it is synchronous and used by this process alone (see
   * `describeBackend`).
   * @example await cache.setMany({ a: 1, b: 2 }, { ttl: 100 })
   */
  setMany(entries: Record<string, unknown> | Iterable<readonly [string, unknown]>, options?: SetOptions) {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const ttlMs = this.ttlMs(options)
      const pairs = Symbol.iterator in entries ? [...entries] : Object.entries(entries)
      const writes = pairs.map(([key, value]) => {
        const full = this.key(key, options, SET_OPTIONS)
        return { key: full, value: ctx.values.encodeValue(value, full), ttlMs }
      })
      return typed<B, void>(ctx.store.setMany(writes))
    })
  }

  /** Removes a key; returns whether it existed. */
  delete(key: string, options?: KeyOptions): OnBackend<B, boolean> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const full = this.key(key, options)
      return typed(ctx.store.delete(full))
    })
  }

  /** Removes several keys; returns how many existed. */
  deleteMany(keys: readonly string[], options?: KeyOptions): OnBackend<B, number> {
    return this.ctx.guard(this.ctx.async, () => {
      return typed(this.ctx.store.deleteMany(keys.map((key) => this.key(key, options))))
    })
  }

  /**
   * Removes the keys matching a glob pattern (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes) and returns
   * how many. The pattern only ever sees this cache's key-value namespace: it cannot reach other domains,
   * versions or cached function results. Needs a backend that can list keys.
   * @example await cache.deletePattern('session:*')
   */
  deletePattern(pattern: string, options?: KeyOptions): OnBackend<B, number> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      ctx.assertOpen()
      if (options !== undefined) checkOptions(options, READ_OPTIONS, 'deletePattern')
      const version = options?.version === undefined ? undefined : String(options.version)
      const namespace = ctx.layout.keyValueNamespace(version)
      const matcher = compileGlob(pattern)
      return typed(
        chain(ctx.store.keys(namespace), (keys) =>
          ctx.store.deleteMany(keys.filter((key) => matcher.test(key.slice(namespace.length)))),
        ),
      )
    })
  }

  /**
   * Adds `by` (default 1) to an integer counter and returns the new value; an absent key starts at 0.
   * @example const hits = await cache.incr('page:/home')
   */
  incr(key: string, by = 1, options?: SetOptions): OnBackend<B, number> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      if (!Number.isSafeInteger(by))
        throw new InvalidOptionError(`incr("${key}"): the step must be an integer, got ${by}`)
      const full = this.key(key, options, SET_OPTIONS)
      return typed(ctx.store.incr(full, by, this.ttlMs(options)))
    })
  }

  /** Sets a new time to live on an existing key; returns whether the key existed. */
  expire(key: string, ttl: Ttl, options?: KeyOptions): OnBackend<B, boolean> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      const full = this.key(key, options)
      return typed(ctx.store.expire(full, parseTtl(ttl, 'expire(ttl)')))
    })
  }

  /** Checks that the backend answers. */
  ping(): OnBackend<B, boolean> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      ctx.assertOpen()
      return typed(ctx.store.ping(`${ctx.layout.namespace}@ping`))
    })
  }

  /**
   * Physically removes everything this cache's domain holds (results, generations, key-value data,
   * locks) and returns how many keys. For dropping results logically in O(1), use `invalidateDomain`.
   */
  clear(): OnBackend<B, number> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      ctx.assertOpen()
      // Running computations must not write back what was just cleared.
      ctx.domainGeneration.value++
      return typed(ctx.store.deletePrefix(ctx.layout.namespace))
    })
  }

  // ---- locks ------------------------------------------------------------------------------------

  /**
   * Takes a named lock for at most `ttl`; returns the owner token, or `undefined` if it is held.
   * Best effort, like every cache lock: no fencing, and an expired holder may still be running.
   * @example
   * const token = await cache.lock('rebuild', { ttl: '30s' })
   * if (token) try { await rebuild() } finally { await cache.unlock('rebuild', token) }
   */
  lock(name: string, options: LockOptions): OnBackend<B, string | undefined> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      ctx.assertOpen()
      const key = ctx.layout.lock(name)
      checkOptions(options, ['ttl'], 'lock')
      const ttlMs = parseTtl(options?.ttl, 'lock(ttl)')
      const token = randomToken()
      const stored = ctx.values.encodeToken(token)
      const acquired = ctx.store.setNx(key, stored, ttlMs)
      return typed(chain(acquired, (ok) => (ok ? token : undefined)))
    })
  }

  /** Whether a named lock is currently held. */
  isLocked(name: string): OnBackend<B, boolean> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      ctx.assertOpen()
      const key = ctx.layout.lock(name)
      return typed(chain(ctx.store.get(key), (held) => held !== undefined))
    })
  }

  /** Releases a lock if `token` still owns it; returns whether it did. */
  unlock(name: string, token: string): OnBackend<B, boolean> {
    return this.ctx.guard(this.ctx.async, () => {
      const { ctx } = this
      ctx.assertOpen()
      const key = ctx.layout.lock(name)
      return typed(ctx.store.deleteIfEquals(key, ctx.values.encodeToken(token)))
    })
  }
}
