import type { AnyBackend, OnBackend } from './backend/contract.js'
import type { CacheContext } from './context.js'
import type { FunctionEngine as Engine } from './engine/function-engine.js'
import { LocalFunction } from './engine/local-function.js'
import { SharedFunction } from './engine/shared-function.js'
import { DuplicateFunctionKeyError, InvalidOptionError, NotSupportedError } from './errors.js'
import type { CacheEventName, CacheListener, EventHub } from './events.js'
import { applyInvalidations, type InvalidationTarget } from './invalidation.js'
import { InvalidationBatch } from './invalidation-batch.js'
import { KeyValueApi } from './key-value.js'
import { chain, isPromiseLike, type MaybePromise } from './maybe-promise.js'
import { collecting, replay, sequenceKind } from './sequences.js'
import type { CacheStatisticsSnapshot } from './statistics.js'
import { flushExpired } from './strategies/flush-expired.js'
import { type LinkedTarget, linkedTargets } from './strategies/linked-invalidation.js'
import type { Ttl } from './ttl.js'
import type { CachedFunction, CachedMethod, CachedResult } from './types.js'
import type { WrapOptions } from './wrap-options.js'

/**
 * A cache: one domain on one backend. Made by `createCache`.
 *
 * @example
 * const cache = createCache({ domainKey: 'SHOP', backend: MemoryBackend, defaultTtl: '5m' })
 * const getPrice = cache.wrap('GET_PRICE', (sku: string) => lookUpPrice(sku))
 * cache.invalidateResult('GET_PRICE', 'A-1')
 */
export class Cache<B extends AnyBackend> extends KeyValueApi<B> {
  private readonly functions = new Map<string, Engine>()
  /** How this cache's functions coordinate invalidation, chosen once for its backend. */
  private readonly Engine: typeof LocalFunction | typeof SharedFunction
  private readonly events: EventHub
  private readonly ownsBackend: boolean
  private closing: Promise<void> | undefined

  /** @internal Use `createCache`. */
  constructor(ctx: CacheContext, events: EventHub, ownsBackend: boolean) {
    super(ctx)
    this.events = events
    this.ownsBackend = ownsBackend
    this.Engine = ctx.coordination === 'local' ? LocalFunction : SharedFunction
  }

  /** The domain key this cache was created with. */
  get domainKey(): string {
    return this.ctx.domainKey
  }

  /** The backend instance (built from the class, if a class was given). */
  get backend(): B {
    return this.ctx.store.backend as unknown as B
  }

  /**
   * Caches `fn` by its arguments under `functionKey`. A function key can be wrapped once per domain.
   *
   * @example
   * const getCustomerName = cache.wrap('GET_CUSTOMER_NAME', (cid: number) => data[cid])
   * const getUser = cache.wrap('GET_USER', async (id: string) => db.user(id), { ttl: '1h' })
   */
  wrap<Args extends readonly unknown[], R>(
    functionKey: string,
    fn: (...args: Args) => R,
    options: WrapOptions<Args> = {},
  ): CachedFunction<B, Args, R> {
    if (typeof fn !== 'function') throw new InvalidOptionError(`wrap("${functionKey}"): expected a function`)
    const { ctx } = this
    // A generator function's sequence is what is cached; each call replays it.
    const kind = sequenceKind(fn as never)
    if (kind && options.cacheIf !== undefined) {
      throw new InvalidOptionError(
        `wrap("${functionKey}"): cacheIf is not for generator functions (their sequence is cached whole)`,
      )
    }
    const engine = this.register(
      functionKey,
      kind ? (collecting(fn as never, kind) as unknown as typeof fn) : fn,
      options,
    )
    // Calls that return a promise (every call on an asynchronous backend, an async function anywhere, a
    // function seen returning one) reject instead of throwing; a synchronous function on a synchronous
    // backend throws as it would.
    // `this` is passed on, so a wrapped prototype method keeps its instance; as with `cache.method`, it is
    // left out of the key unless `keyThis` asks for it.
    const wrapped = (kind
      ? function (this: unknown, ...args: Args) {
          return replay(kind, ctx.async, () => engine.call(this, args), ctx.track)
        }
      : function (this: unknown, ...args: Args) {
          return engine.callFromUser(this, args)
        }) as unknown as CachedFunction<B, Args, R>
    const supersede = (key: string) => this.supersede(engine, key)
    Object.defineProperties(wrapped, {
      name: { value: fn.name || functionKey },
      functionKey: { value: functionKey, enumerable: true },
      invalidate: { value: (...args: Args) => this.invalidateResult(functionKey, ...args) },
      invalidateAll: { value: () => this.invalidateFunc(functionKey) },
      setExpiry: { value: (ttl: Ttl) => this.setExpiry(functionKey, ttl) },
      flushExpired: { value: () => this.flushExpired(functionKey) },
      clear: { value: () => this.clearFunc(functionKey) },
      refresh: {
        value(this: unknown, ...args: Args) {
          if (kind) return replay(kind, ctx.async, () => engine.refresh(this, args, supersede), ctx.track)
          return ctx.guard(ctx.async || engine.returnsPromise, () => engine.refresh(this, args, supersede))
        },
      },
    })
    return wrapped
  }

  /**
   * A standard (TC39) method decorator that caches a method's results. The instance (`this`) is left out
   * of the key unless `keyThis` asks for it, so results are shared between instances by default.
   * On an asynchronous backend the method must itself return a promise.
   *
   * @example
   * class Prices {
   *   @cache.method('PRICE_OF')
   *   priceOf(sku: string): number { ... }
   * }
   */
  method<Args extends readonly unknown[], R, This = unknown>(
    functionKey: string,
    options: WrapOptions<Args> = {},
  ) {
    return (
      target: (this: This, ...args: Args) => MethodReturn<B, R>,
      _context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => MethodReturn<B, R>>,
    ): CachedMethod<This, Args, MethodReturn<B, R>> => {
      const kind = sequenceKind(target as never)
      const engine = this.register(
        functionKey,
        (kind ? collecting(target as never, kind) : target) as (...args: Args) => unknown,
        options,
      )
      const { ctx } = this
      if (kind) {
        return function (this: This, ...args: Args) {
          return replay(kind, ctx.async, () => engine.call(this, args), ctx.track) as MethodReturn<B, R>
        }
      }
      return function (this: This, ...args: Args) {
        return engine.callFromUser(this, args) as MethodReturn<B, R>
      }
    }
  }

  private register<Args extends readonly unknown[]>(
    functionKey: string,
    fn: (...args: Args) => unknown,
    options: WrapOptions<Args>,
  ): Engine {
    const { ctx } = this
    ctx.assertOpen()
    if (typeof functionKey !== 'string' || functionKey.length === 0) {
      throw new InvalidOptionError('A function key must be a non-empty string')
    }
    const engine = new this.Engine(ctx, functionKey, fn as never, options as WrapOptions<readonly unknown[]>)
    if (
      this.functions.has(functionKey) ||
      !ctx.state.claimFunctionKey(ctx.layout.namespace, functionKey, ctx.store.storeId)
    ) {
      throw new DuplicateFunctionKeyError(ctx.domainKey, functionKey)
    }
    this.functions.set(functionKey, engine)
    const { statistics } = ctx
    if (statistics !== undefined) {
      engine.counters = statistics.forFunction(functionKey, [
        engine.entryPrefix,
        engine.resultGenerationNamespace,
      ])
    }
    return engine
  }

  /** The engine of a function key; one with default options if it is not wrapped here. */
  private engineFor(functionKey: string): Engine {
    return (
      this.functions.get(functionKey) ??
      new this.Engine(this.ctx, functionKey, () => undefined, {} as WrapOptions<readonly unknown[]>)
    )
  }

  // ---- expiry management ------------------------------------------------------------------------

  /**
   * Changes the ttl of a wrapped function: results stored from now on live `ttl`, and results already
   * stored are judged by their age against it when read (a shorter ttl applies to them at once). In this
   * process only: other processes keep the ttl they wrapped with.
   *
   * @example cache.setExpiry('GET_PRICE', '10m') // or getPrice.setExpiry('10m')
   */
  setExpiry(functionKey: string, ttl: Ttl): void {
    const engine = this.functions.get(functionKey)
    if (engine === undefined) {
      throw new InvalidOptionError(`setExpiry("${functionKey}"): no function is wrapped under this key here`)
    }
    engine.setExpiry(ttl)
  }

  /**
   * Removes the stored results of a function that have expired (past their ttl and whatever freshness
   * window still uses them, or undecodable); answers how many. The backend's ttl removes them eventually
   * anyway: this frees the space now. Needs a backend that lists keys (`NotSupportedError` otherwise).
   *
   * @example const removed = await cache.flushExpired('GET_PRICE')
   */
  flushExpired(functionKey: string): OnBackend<B, number> {
    const engine = this.engineFor(functionKey)
    return this.ctx.guard(this.ctx.async, () =>
      flushExpired(this.ctx, engine.entryPrefix, engine.storeTtlMs),
    ) as OnBackend<B, number>
  }

  /**
   * Clears a function: invalidates every result (in O(1), race-free, as `invalidateFunc`), then removes
   * them from the store now where it lists keys; answers how many were removed (0 where the store cannot
   * list: reclamation and ttls free the space later).
   *
   * @example await cache.clearFunc('GET_PRICE') // or getPrice.clear()
   */
  clearFunc(functionKey: string): OnBackend<B, number> {
    const { ctx } = this
    const engine = this.engineFor(functionKey)
    return ctx.guard(ctx.async, () =>
      chain(
        // Where it can list, it deletes the dead results itself right after: a background reclamation
        // racing it would make the count it answers short.
        applyInvalidations(ctx, [{ level: 'function', fn: engine }], true, !ctx.store.lists),
        () => (ctx.store.lists ? ctx.store.deletePrefix(engine.entryPrefix) : 0),
      ),
    ) as OnBackend<B, number>
  }

  // ---- linked invalidation ----------------------------------------------------------------------

  /**
   * A write path that invalidates what it changes: the returned function calls `fn` (never cached), and
   * once it has succeeded (returned, or its promise resolved) invalidates its `invalidates` targets as one
   * atomic batch, before answering; a failed call invalidates nothing. A target is a wrapped function or a
   * function key (every result of it), or `{ target, args }` where `args(result, ...callArgs)` gives the
   * arguments of the one result to invalidate (`undefined`: none).
   *
   * @example
   * const renameUser = cache.invalidator(db.renameUser, {
   *   invalidates: [{ target: getUser, args: (_, id) => [id] }, listUsers],
   * })
   * await renameUser(42, 'Ada') // getUser(42) and every listUsers result are invalidated
   */
  invalidator<Args extends readonly unknown[], R>(
    fn: (...args: Args) => R,
    options: { invalidates: readonly LinkedTarget<Args, R>[] },
  ): (...args: Args) => CachedResult<B, R> {
    if (typeof fn !== 'function') throw new InvalidOptionError('invalidator: expected a function')
    const targets = linkedTargets(options, (key) => this.engineFor(key))
    const { ctx } = this
    const invalidate = (result: unknown, args: Args): MaybePromise<void> => {
      const batch: InvalidationTarget[] = []
      for (const target of targets) {
        if (target.args === undefined) {
          batch.push({ level: 'function', fn: target.engine() })
          continue
        }
        const mapped = target.args(result as Awaited<R>, ...args)
        if (mapped === undefined) continue
        const engine = target.engine()
        batch.push({ level: 'result', fn: engine, key: engine.entryKey(undefined, mapped) })
      }
      return batch.length === 0 ? undefined : (this.apply(batch) as MaybePromise<void>)
    }
    return function (this: unknown, ...args: Args) {
      return ctx.guard(ctx.async, () => {
        ctx.assertOpen()
        const result = (fn as unknown as (...callArgs: unknown[]) => R).apply(
          this,
          args as unknown as unknown[],
        )
        if (isPromiseLike(result)) {
          return Promise.resolve(result).then((value) => chain(invalidate(value, args), () => value))
        }
        return chain(invalidate(result, args), () => result)
      })
    } as (...args: Args) => CachedResult<B, R>
  }

  // ---- invalidation -----------------------------------------------------------------------------

  /**
   * Invalidates one result: pass the same arguments as the call. Race-free: once this returns (or its
   * promise resolves), no caller is served a result computed before it, including from computations that
   * were already running.
   *
   * For a function key that is not wrapped in this process, arguments are keyed with default options.
   * @example cache.invalidateResult('GET_CUSTOMER_NAME', cid)
   */
  invalidateResult(functionKey: string, ...args: readonly unknown[]): OnBackend<B, void> {
    return this.ctx.guard(this.ctx.async, () => this.apply([this.resultTarget(functionKey, args)]))
  }

  /**
   * Invalidates one result of a method decorated with `keyThis`: the instance is part of its key.
   * @example cache.invalidateResultFor(tenant, 'TENANT_NAME', '!')
   */
  invalidateResultFor(
    instance: unknown,
    functionKey: string,
    ...args: readonly unknown[]
  ): OnBackend<B, void> {
    return this.ctx.guard(this.ctx.async, () => this.apply([this.resultTarget(functionKey, args, instance)]))
  }

  /** Invalidates every result of one function, in O(1) whatever their number. */
  invalidateFunc(functionKey: string): OnBackend<B, void> {
    return this.ctx.guard(this.ctx.async, () =>
      this.apply([{ level: 'function', fn: this.engineFor(functionKey) }]),
    )
  }

  /** Invalidates every result of every function in this domain, in O(1). */
  invalidateDomain(): OnBackend<B, void> {
    return this.ctx.guard(this.ctx.async, () => this.apply([{ level: 'domain' }]))
  }

  /**
   * Several invalidations applied as one atomic step: a reader sees all of them or none.
   *
   * @example
   * await cache.batch().invalidateResult('GET_CUSTOMER', 1).invalidateFunc('LIST_CUSTOMERS').commit()
   */
  batch(): InvalidationBatch<B> {
    return new InvalidationBatch<B>(this.ctx, (targets) => this.apply(targets), {
      result: (functionKey, args) => this.resultTarget(functionKey, args),
      function: (functionKey) => ({ level: 'function', fn: this.engineFor(functionKey) }),
    })
  }

  private resultTarget(
    functionKey: string,
    args: readonly unknown[],
    instance?: unknown,
  ): InvalidationTarget {
    const fn = this.engineFor(functionKey)
    return { level: 'result', fn, key: fn.entryKey(instance, args) }
  }

  private apply(targets: readonly InvalidationTarget[]): OnBackend<B, void> {
    return applyInvalidations(this.ctx, targets) as OnBackend<B, void>
  }

  /** What a refresh does first on a shared store: a new generation for its result (see `refresh`). */
  private supersede(engine: Engine, key: string): MaybePromise<void> {
    return applyInvalidations(this.ctx, [{ level: 'result', fn: engine, key }], false)
  }

  // ---- statistics, events and lifecycle ----------------------------------------------------------

  /**
   * This cache's counters: per wrapped function and in total (hits, misses, stale answers, computations,
   * failures, cache-side errors, invalidations, compute time, hit ratio), since the cache was created or
   * the last `stats({ reset: true })`. Counting costs the hit path one increment; `createCache({ stats:
   * false })` turns it off, and then this throws `NotSupportedError`.
   *
   * @example
   * const { total, functions } = cache.stats()
   * console.log(`hit ratio ${(total.hitRatio ?? 0) * 100}%`, functions.GET_USER?.computeMs)
   * setInterval(() => exporter.push(cache.stats({ reset: true })), 60_000) // per-minute deltas
   */
  stats(options: { reset?: boolean } = {}): CacheStatisticsSnapshot {
    const { statistics } = this.ctx
    if (statistics === undefined) {
      throw new NotSupportedError(
        `Cache "${this.ctx.domainKey}" was created with stats: false; it counts nothing`,
      )
    }
    return statistics.snapshot(options.reset === true)
  }

  /**
   * Subscribes to an event; returns the unsubscribe function.
   * @example const off = cache.on('error', ({ operation, error }) => log.warn({ operation, error }))
   */
  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): () => void {
    return this.events.on(event, listener)
  }

  /**
   * Closes the cache: waits for running computations' writes, frees its function keys, and closes the
   * backend if the cache built it from a class (a backend instance you passed stays yours to close).
   */
  close(): Promise<void> {
    // Every caller of close(), the first or a later one, waits for the same complete close.
    this.closing ??= this.closeOnce()
    return this.closing
  }

  private async closeOnce(): Promise<void> {
    const { ctx } = this
    ctx.markClosed()
    // Calls that started before close() finish first: their reads complete, and results being computed
    // are still stored (or discarded) before the backend closes.
    await ctx.settle(ctx.layout.namespace)
    for (const key of this.functions.keys()) {
      ctx.state.releaseFunctionKey(ctx.layout.namespace, key, ctx.store.storeId)
    }
    this.functions.clear()
    if (this.ownsBackend) await ctx.store.close()
  }
}

/**
 * Method results must be promises on an asynchronous backend (the cache cannot answer synchronously);
 * on a synchronous backend anything goes.
 */
export type MethodReturn<B extends AnyBackend, R> = B['capabilities']['sync'] extends true
  ? R
  : R & PromiseLike<unknown>
