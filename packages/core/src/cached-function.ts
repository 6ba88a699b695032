import type { BoundScope } from './backend/store.js'
import type { CacheContext } from './context.js'
import type { GenerationCounter } from './coordination/backend-state.js'
import {
  type ComputationLock,
  type ComputationLockOption,
  FIRST_POLL_MS,
  MAX_POLL_MS,
  parseComputationLock,
  sleep,
} from './coordination/computation-lock.js'
import { type Flight, type FlightGuard, Flights } from './coordination/flights.js'
import { PROVISIONAL_STORE_WINDOW_MS } from './coordination/invalidation-markers.js'
import { randomToken } from './coordination/random-token.js'
import { NotSupportedError } from './errors.js'
import { boundArgumentKey, closeGroup, functionGenerationSuffix } from './keys/key-layout.js'
import { createKeyDeriver, type KeyDeriver, type KeyOptions } from './keys/key-options.js'
import { LiveEntry } from './live-entry.js'
import { chain, isPromiseLike, type MaybePromise } from './maybe-promise.js'
import { checkOptions } from './options.js'
import { isGeneratorObject } from './sequences.js'
import { decodeEnvelope } from './serialization/envelope.js'
import { parseOptionalTtl, type Ttl } from './ttl.js'

/** Options of `cache.wrap`. */
export interface WrapOptions<Args extends readonly unknown[]> extends KeyOptions<Args> {
  /** Time to live of this function's results; defaults to the cache's `defaultTtl`. */
  ttl?: Ttl
  /** A version in the key: bump it when the function's results change shape, and old entries are ignored. */
  version?: string | number
  /**
   * Cross-process single-flight for cold keys: of all the processes that miss the same key at once, the
   * one that takes a lock computes, and the others wait for its result (looking at the cache every 10 to
   * 200 ms) instead of computing it too. `ttl` (default `'10s'`) bounds how long a crashed holder can
   * keep the lock; after `wait` (default: `ttl`) a waiter computes anyway. Best effort, like every cache
   * lock. For asynchronous shared backends (Redis); ignored where the store is not shared (in-process
   * single-flight already covers it), refused on synchronous shared ones (SQLite), which cannot wait
   * without blocking.
   *
   * @example
   * const report = cache.wrap('REPORT', buildReport, { ttl: '1h', lock: { ttl: '30s' } })
   */
  lock?: ComputationLockOption
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown

/** Every option `wrap` knows: anything else is refused, so a misspelt `tll` is never silently ignored. */
const WRAP_OPTIONS = ['key', 'includeArgs', 'excludeArgs', 'keyThis', 'ttl', 'version', 'lock'] as const

/**
 * The engine behind one wrapped function: key derivation, the hit path, single-flight computation and
 * race-free stores. Everything is written once over `MaybePromise`, so on a synchronous backend a
 * synchronous function never meets a promise.
 */
export class CachedFunction {
  /** Where this function's generations live. */
  readonly namespace: string
  /** Where this function's results live: the prefix a function invalidation makes dead. */
  readonly entryPrefix: string
  private readonly resultGenerationPrefix: string
  private readonly functionGenerationKey: string
  private readonly ttlMs: number | undefined
  private readonly deriveKey: KeyDeriver
  private readonly functionGeneration: GenerationCounter
  /** `async function` is known to be asynchronous before its first call; others are learnt per entry. */
  private knownAsync: boolean
  /** The backend's own view of this function's results (local coordination): a hit hashes only the argument key. */
  private readonly view: BoundScope | undefined
  private readonly lock: ComputationLock | undefined
  private readonly lockPrefix: string
  /** Shared coordination on a backend with `setGuarded`: a result's generation is written with it. */
  private readonly guarded: boolean
  /**
   * The function and domain generations this process last read (shared coordination). A computation
   * whose stamp carries older ones was overtaken by an invalidation: its result would be refused by
   * every reader, so it is not written over what may be a valid newer entry.
   */
  private seenFunction: string | undefined
  private seenDomain: string | undefined

  constructor(
    private readonly ctx: CacheContext,
    readonly functionKey: string,
    private readonly fn: AnyFunction,
    options: WrapOptions<readonly unknown[]>,
  ) {
    checkOptions(options, WRAP_OPTIONS, `wrap("${functionKey}")`)
    const version = options.version === undefined ? undefined : String(options.version)
    this.namespace = ctx.layout.functionNamespace(functionKey, version)
    this.entryPrefix = ctx.layout.resultNamespace(functionKey, version)
    this.resultGenerationPrefix = ctx.layout.resultGenerationNamespace(functionKey, version)
    this.functionGenerationKey = this.namespace + functionGenerationSuffix
    this.ttlMs = parseOptionalTtl(options.ttl, `wrap("${functionKey}").ttl`) ?? ctx.defaultTtlMs
    this.deriveKey = createKeyDeriver(functionKey, options)
    this.functionGeneration = ctx.state.generation(this.namespace)
    this.knownAsync = fn.constructor.name === 'AsyncFunction'
    this.view = ctx.local ? ctx.store.rawScope(this.entryPrefix) : undefined
    this.guarded = !ctx.local && ctx.store.writesGuarded
    this.lock = parseComputationLock(options.lock, functionKey, ctx.store)
    this.lockPrefix = ctx.layout.computationLockNamespace(functionKey, version)
  }

  /** Whether every call returns a promise whatever the backend (an `async function`, or one seen to). */
  get returnsPromise(): boolean {
    return this.knownAsync
  }

  /**
   * `call` as wrapped functions and decorated methods expose it: a call typed to return a promise (every
   * call on an asynchronous backend, an `async` function anywhere) rejects instead of throwing.
   */
  callFromUser(self: unknown, args: readonly unknown[]): unknown {
    try {
      return this.call(self, args)
    } catch (error) {
      if (this.ctx.async || this.knownAsync) return Promise.reject(error)
      throw error
    }
  }

  /** The backend key of the result of a call. Throws `UnkeyableArgumentError` for unkeyable arguments. */
  entryKey(self: unknown, args: readonly unknown[]): string {
    const argumentKey = boundArgumentKey(this.deriveKey(self, args))
    return this.entryPrefix + (this.ctx.local ? argumentKey : closeGroup(argumentKey))
  }

  resultGenerationKey(entryKey: string): string {
    return this.resultGenerationPrefix + entryKey.slice(this.entryPrefix.length)
  }

  // ---- calls ------------------------------------------------------------------------------------

  call(self: unknown, args: readonly unknown[]): unknown {
    const { ctx } = this
    if (ctx.closed) ctx.assertOpen()
    const argumentKey = boundArgumentKey(this.deriveKey(self, args))
    if (ctx.local) return this.callLocal(self, args, argumentKey)
    return this.callShared(self, args, this.entryPrefix + closeGroup(argumentKey), false)
  }

  /**
   * Computes and stores without reading the cache (the seed's skip-cache). A refresh supersedes every
   * computation of the same call that started before it, in this process and in others: locally their
   * flights are poisoned; on a shared store the refresh first writes a new result generation (as a
   * result invalidation does), so their late results carry a stamp no reader accepts.
   */
  refresh(self: unknown, args: readonly unknown[], supersede: (key: string) => MaybePromise<void>): unknown {
    const { ctx } = this
    ctx.assertOpen()
    const key = this.entryKey(self, args)
    if (ctx.local) {
      ctx.state.flights.poison(key)
      return this.compute(self, args, key, this.localStamp(key.slice(this.entryPrefix.length)), false)
    }
    // If the new generation cannot be written, the refresh cannot safely store: it follows the error
    // policy like a failed read (`silent` computes and returns without caching).
    let superseded: MaybePromise<void>
    try {
      superseded = supersede(key)
    } catch (error) {
      return this.readFailed(error, self, args)
    }
    if (superseded instanceof Promise) {
      return superseded.then(
        () => this.callShared(self, args, key, true),
        (error: unknown) => this.readFailed(error, self, args),
      )
    }
    return this.callShared(self, args, key, true)
  }

  /** The hit path of the memory backend: one lookup, no promise, no allocation beyond the key. */
  private callLocal(self: unknown, args: readonly unknown[], argumentKey: string): unknown {
    const { ctx, view } = this
    let stored: unknown
    try {
      // Raw reads, no adapter wrapper: this is the memory hit path, and a throw is caught right here.
      stored =
        view !== undefined ? view.get(argumentKey) : ctx.store.backend.get(this.entryPrefix + argumentKey)
    } catch (error) {
      return this.readFailed(ctx.failure('get', error, this.entryPrefix + argumentKey), self, args)
    }
    if (stored !== undefined) {
      if (stored instanceof LiveEntry) {
        if (
          stored.domainGeneration === ctx.domainGeneration.value &&
          stored.functionGeneration === this.functionGeneration.value
        ) {
          return this.hit(this.entryPrefix, argumentKey, stored.value, stored.async, false)
        }
      } else {
        const decoded = this.decode(stored, this.entryPrefix + argumentKey)
        if (decoded !== undefined && decoded.stamp === this.localStamp(argumentKey)) {
          return this.hit(this.entryPrefix, argumentKey, decoded.value, decoded.async, false)
        }
      }
    }
    return this.compute(self, args, this.entryPrefix + argumentKey, this.localStamp(argumentKey), true)
  }

  /**
   * The stamp of a result under local coordination. On a byte-storing backend it names the argument key
   * too: the generations alone are the same for every argument, so an entry of another argument (a
   * swapped row or file) would otherwise pass as this one's. Under shared coordination the per-argument
   * result generation already does that.
   */
  private localStamp(argumentKey: string): string {
    return `${this.ctx.domainGeneration.value}.${this.functionGeneration.value}.${argumentKey}`
  }

  /**
   * Shared coordination: one read fetches the entry with the three generations it must match (result,
   * function, domain). Absent generations are created first, so an entry is always stamped with tokens.
   */
  private callShared(self: unknown, args: readonly unknown[], key: string, skipRead: boolean): unknown {
    const { ctx } = this
    const generationKeys = this.generationKeys(key)
    const readKeys = skipRead
      ? generationKeys
      : [key, generationKeys[0]!, generationKeys[1]!, generationKeys[2]!]
    let read: MaybePromise<unknown[]>
    try {
      read = ctx.store.getMany(readKeys)
    } catch (error) {
      return this.readFailed(error, self, args)
    }
    const viaPromise = read instanceof Promise
    const afterRead = (values: unknown[]): unknown => {
      const stored = skipRead ? undefined : values[0]
      const useStamp = (stamp: string): unknown => {
        if (stored !== undefined) {
          const decoded = this.decode(stored, key)
          if (decoded !== undefined && decoded.stamp === stamp) {
            // Inside a promise callback the value needs no promise of its own (that would cost two more ticks).
            return this.hit(key, '', decoded.value, decoded.async, viaPromise)
          }
        }
        return this.compute(self, args, key, stamp, !skipRead)
      }
      // Creating a missing generation is backend I/O too: its failure follows the error policy.
      let stamp: MaybePromise<string>
      try {
        stamp = this.ensureGenerations(generationKeys, values, skipRead ? 0 : 1)
      } catch (error) {
        return this.readFailed(error, self, args)
      }
      if (stamp instanceof Promise) {
        return stamp.then(useStamp, (error: unknown) => this.readFailed(error, self, args))
      }
      return useStamp(stamp)
    }
    if (read instanceof Promise) {
      // Under way until it settles (close() waits for it): a counter on the hit path, a promise only when
      // the call goes on to create generations or compute.
      ctx.callStarted()
      return read.then(
        (values) => {
          let out: unknown
          try {
            out = afterRead(values)
          } catch (error) {
            ctx.callEnded()
            throw error
          }
          if (out instanceof Promise) out.then(ctx.callEnded, ctx.callEnded)
          else ctx.callEnded()
          return out
        },
        (error: unknown) => {
          ctx.callEnded()
          return this.readFailed(error, self, args)
        },
      )
    }
    return afterRead(read)
  }

  /** The generations a result of `key` must match, in stamp order reversed: result, function, domain. */
  private generationKeys(key: string): string[] {
    return [this.resultGenerationKey(key), this.functionGenerationKey, this.ctx.layout.domainGeneration]
  }

  /**
   * Creates missing generation tokens and returns the stamp `domain.function.result`.
   * `values[at]`, `values[at + 1]`, `values[at + 2]` hold what was read of the three generations.
   */
  private ensureGenerations(
    keys: readonly string[],
    values: readonly unknown[],
    at: number,
  ): MaybePromise<string> {
    const { ctx } = this
    // The hit path: every generation exists.
    const result = ctx.decodeToken(values[at])
    const fn = ctx.decodeToken(values[at + 1])
    const domain = ctx.decodeToken(values[at + 2])
    if (fn !== undefined && domain !== undefined) {
      this.seenFunction = fn
      this.seenDomain = domain
      if (result !== undefined) return `${domain}.${fn}.${result}`
      // Only the result's generation is missing (a new argument): it is written with the result.
      if (this.guarded) return `${domain}.${fn}.${this.provisionalGeneration(keys[0]!)}`
    }
    const tokens = [result, fn, domain]
    const pending: MaybePromise<void>[] = []
    for (let i = 0; i < keys.length; i++) {
      if (tokens[i] !== undefined) continue
      // A result generation lives a little longer than its entry; function and domain ones do not expire.
      const ttlMs = i === 0 && this.ttlMs !== undefined ? this.ttlMs * 2 : undefined
      pending.push(
        chain(this.createGeneration(keys[i]!, ttlMs), (token) => {
          tokens[i] = token
        }),
      )
    }
    const stamp = () => {
      this.seenFunction = tokens[1]
      this.seenDomain = tokens[2]
      return `${tokens[2]}.${tokens[1]}.${tokens[0]}`
    }
    if (pending.some((p) => p instanceof Promise)) return Promise.all(pending).then(stamp)
    return stamp()
  }

  /** The token this process will write for a missing result generation (one per key while it is pending). */
  private provisionalGeneration(key: string): string {
    const { provisionalGenerations } = this.ctx.state
    let pending = provisionalGenerations.get(key)
    const now = performance.now()
    // Past the store window a token is not handed out again: a reader now may come after an invalidation
    // whose marker has expired since, and must not share a stamp (nor a computation) with older readers.
    if (pending === undefined || now - pending.at > PROVISIONAL_STORE_WINDOW_MS) {
      pending = { token: randomToken(), at: now }
      provisionalGenerations.set(key, pending)
    }
    return pending.token
  }

  /** The pending result generation a store must write with its entry, if its stamp was built on one. */
  private pendingGeneration(key: string, stamp: string): FlightGuard | undefined {
    const { provisionalGenerations } = this.ctx.state
    if (provisionalGenerations.size === 0) return undefined
    const generationKey = this.resultGenerationKey(key)
    const token = provisionalGenerations.get(generationKey)?.token
    if (token === undefined || !stamp.endsWith(`.${token}`)) return undefined
    return { key: generationKey, token, provisional: true }
  }

  /**
   * What a store on `stamp` guards with: its provisional generation, or the existing one it read. Storing
   * with the existing one too (instead of a plain write) means that a generation removed meanwhile (by the
   * background reclamation, or eviction) is put back with its result rather than leaving the result
   * unreadable, and one replaced by an invalidation's marker keeps the result out. Both are only safe
   * within the store window, which `store` enforces for every guarded write.
   */
  private guardOf(key: string, stamp: string): FlightGuard {
    const pending = this.pendingGeneration(key, stamp)
    if (pending !== undefined) return pending
    return {
      key: this.resultGenerationKey(key),
      token: stamp.slice(stamp.lastIndexOf('.') + 1),
      provisional: false,
    }
  }

  /** Whether this process has read function or domain generations newer than those of `stamp`. */
  private overtaken(stamp: string): boolean {
    const { seenFunction, seenDomain } = this
    if (seenFunction === undefined || seenDomain === undefined) return false
    const domainEnd = stamp.indexOf('.')
    const functionEnd = stamp.indexOf('.', domainEnd + 1)
    return (
      stamp.slice(0, domainEnd) !== seenDomain || stamp.slice(domainEnd + 1, functionEnd) !== seenFunction
    )
  }

  /** A computation is over (stored, discarded or failed): out of the registry, its guard settled. */
  private finishFlight(key: string, flight: Flight): void {
    this.ctx.state.flights.finish(key, flight)
    this.settleGeneration(flight.guard)
  }

  /** Forgets a pending result generation once its computation has stored or failed (unless replaced). */
  private settleGeneration(guard: FlightGuard | undefined): void {
    if (guard === undefined) return
    const { provisionalGenerations } = this.ctx.state
    if (provisionalGenerations.get(guard.key)?.token === guard.token) provisionalGenerations.delete(guard.key)
  }

  private createGeneration(key: string, ttlMs: number | undefined): MaybePromise<string> {
    const { creatingGenerations } = this.ctx.state
    const pending = creatingGenerations.get(key)
    if (pending !== undefined) return pending
    const created = this.writeGeneration(key, ttlMs)
    if (!(created instanceof Promise)) return created
    creatingGenerations.set(key, created)
    const forget = () => {
      if (creatingGenerations.get(key) === created) creatingGenerations.delete(key)
    }
    created.then(forget, forget)
    return created
  }

  private writeGeneration(key: string, ttlMs: number | undefined): MaybePromise<string> {
    const { store } = this.ctx
    const token = randomToken()
    const encoded = this.ctx.encodeToken(token)
    if (!store.hasAtomics) return chain(store.set(key, encoded, ttlMs), () => token)
    return chain(store.setNx(key, encoded, ttlMs), (stored) => {
      if (stored) return token
      // Someone else created (or invalidated) it first: use theirs.
      return chain(store.get(key), (value) => this.ctx.decodeToken(value) ?? token)
    })
  }

  private decode(
    stored: unknown,
    key: string,
  ): { value: unknown; stamp: string; async: boolean } | undefined {
    try {
      return decodeEnvelope(this.ctx.serializer, stored)
    } catch (error) {
      this.ctx.report('decode', error, key)
      return undefined
    }
  }

  /** A hit on `prefix + rest` (two parts so the memory hit path builds no key unless a listener wants it). */
  private hit(prefix: string, rest: string, value: unknown, async: boolean, viaPromise: boolean): unknown {
    const { events } = this.ctx
    if (events.has('hit')) events.emit('hit', { functionKey: this.functionKey, key: prefix + rest })
    return !viaPromise && (async || this.knownAsync) ? Promise.resolve(value) : value
  }

  /** The backend could not be read: `raise` throws, `silent` computes without the cache. */
  private readFailed(error: unknown, self: unknown, args: readonly unknown[]): unknown {
    if (this.ctx.onError === 'raise') throw error
    return this.fn.apply(self, args as unknown[])
  }

  // ---- computing and storing ----------------------------------------------------------------------

  private compute(
    self: unknown,
    args: readonly unknown[],
    key: string,
    stamp: string,
    join: boolean,
  ): unknown {
    const { ctx } = this
    const { flights } = ctx.state
    // The start of the window a store on a provisional generation must fit in (invalidation-markers.ts):
    // the generations were read at most one time bound ago, so counting from then costs the hit path nothing.
    const startedAt = performance.now() - ctx.timeoutMs
    if (join) {
      const running = flights.joinable(key, stamp)
      if (running !== undefined) return running
    }
    if (ctx.events.has('miss')) ctx.events.emit('miss', { functionKey: this.functionKey, key })
    // The result generation this stamp was built on, fixed now: the store writes the entry only if the
    // generation still holds it (creating it if absent), never with a token handed out later.
    const guard = this.guarded ? this.guardOf(key, stamp) : undefined
    if (this.lock !== undefined && join)
      return this.computeUnderLock(self, args, key, stamp, this.lock, startedAt, guard)
    const domainGeneration = ctx.domainGeneration.value
    const functionGeneration = this.functionGeneration.value
    const { result, poisoned } = this.invoke(self, args, guard)
    if (!isPromiseLike(result)) {
      if (ctx.store.sync) {
        const done = Flights.completed(
          stamp,
          domainGeneration,
          functionGeneration,
          poisoned,
          startedAt,
          guard,
        )
        return chain(this.store(key, done, result, false), () => result)
      }
      // A synchronous function on an asynchronous backend: its store takes a round trip, and callers that
      // miss meanwhile must join it rather than compute again (single-flight).
      const flight = flights.start(
        key,
        stamp,
        domainGeneration,
        functionGeneration,
        poisoned,
        startedAt,
        guard,
      )
      const stored = Promise.resolve(this.store(key, flight, result, false)).then(() => result)
      flight.promise = stored
      return stored
    }
    // Registered once the promise exists: nothing could have joined before.
    const flight = flights.start(key, stamp, domainGeneration, functionGeneration, poisoned, startedAt, guard)
    const promise = Promise.resolve(result).then(
      (value) => chain(this.store(key, flight, value, true), () => value),
      (error: unknown) => {
        this.finishFlight(key, flight)
        throw error
      },
    )
    flight.promise = promise
    return promise
  }

  /**
   * Cross-process single-flight (the `lock` option). The caller that takes the computation lock computes
   * and stores; the others look at the cache with growing pauses until the result is there, the lock is
   * free again (its holder failed: take it), or `wait` has passed (compute without it). The lock is an
   * optimisation: if it cannot be taken because the backend fails, `silent` computes without it.
   */
  private computeUnderLock(
    self: unknown,
    args: readonly unknown[],
    key: string,
    stamp: string,
    lock: ComputationLock,
    startedAt: number,
    guard: FlightGuard | undefined,
  ): Promise<unknown> {
    const { ctx } = this
    const flight = ctx.state.flights.start(
      key,
      stamp,
      ctx.domainGeneration.value,
      this.functionGeneration.value,
      false,
      startedAt,
      guard,
    )
    const promise = this.lockThenCompute(self, args, key, lock, flight)
    flight.promise = promise
    return promise
  }

  private async lockThenCompute(
    self: unknown,
    args: readonly unknown[],
    key: string,
    lock: ComputationLock,
    flight: Flight,
  ): Promise<unknown> {
    const { ctx } = this
    const { store } = ctx
    const lockKey = this.lockPrefix + key.slice(this.entryPrefix.length)
    const deadline = Date.now() + lock.waitMs
    let pause = FIRST_POLL_MS
    for (;;) {
      const owner = ctx.encodeToken(randomToken())
      let acquired: boolean
      try {
        acquired = await store.setNx(lockKey, owner, lock.ttlMs)
      } catch (error) {
        if (ctx.onError === 'raise') {
          this.finishFlight(key, flight)
          throw error
        }
        return this.runAndStore(self, args, key, flight)
      }
      if (acquired) {
        try {
          // The previous holder may have stored it just before releasing the lock: look once more.
          const stored = await this.lookUp(key).catch(() => undefined)
          if (stored !== undefined) {
            this.finishFlight(key, flight)
            return this.hit(key, '', stored.value, stored.async, true)
          }
          return await this.runAndStore(self, args, key, flight)
        } finally {
          // Only its owner releases it; if that fails, the lock expires after its ttl.
          await Promise.resolve(store.deleteIfEquals(lockKey, owner)).catch(() => undefined)
        }
      }
      const left = deadline - Date.now()
      if (left <= 0) return this.runAndStore(self, args, key, flight)
      await sleep(Math.min(pause, left))
      pause = Math.min(pause * 2, MAX_POLL_MS)
      const found = await this.lookUp(key).catch(() => undefined)
      if (found !== undefined) {
        this.finishFlight(key, flight)
        return this.hit(key, '', found.value, found.async, true)
      }
    }
  }

  /** The valid stored result of `key` under the current generations, if any (the hit path, as a value). */
  private async lookUp(key: string): Promise<{ value: unknown; async: boolean } | undefined> {
    const { ctx } = this
    const [stored, result, fn, domain] = await ctx.store.getMany([key, ...this.generationKeys(key)])
    if (stored === undefined || result === undefined || fn === undefined || domain === undefined)
      return undefined
    const decoded = this.decode(stored, key)
    const stamp = `${ctx.decodeToken(domain)}.${ctx.decodeToken(fn)}.${ctx.decodeToken(result)}`
    return decoded !== undefined && decoded.stamp === stamp ? decoded : undefined
  }

  /** Runs the function and stores its result (the body of a locked computation). */
  private async runAndStore(
    self: unknown,
    args: readonly unknown[],
    key: string,
    flight: Flight,
  ): Promise<unknown> {
    let value: unknown
    let async = false
    try {
      const { result, poisoned } = this.invoke(self, args, flight.guard)
      async = isPromiseLike(result)
      if (poisoned) flight.poisoned = true
      value = await result
    } catch (error) {
      this.finishFlight(key, flight)
      throw error
    }
    await this.store(key, flight, value, async)
    return value
  }

  /**
   * Calls the function. `poisoned`: an invalidation was made while it ran synchronously (only the function
   * itself can make one), so its result may predate it. A synchronous throw forgets any pending generation.
   */
  private invoke(
    self: unknown,
    args: readonly unknown[],
    guard: FlightGuard | undefined,
  ): { result: unknown; poisoned: boolean } {
    const { state } = this.ctx
    const invalidationsBefore = state.invalidations
    let result: unknown
    try {
      result = this.fn.apply(self, args as unknown[])
    } catch (error) {
      this.settleGeneration(guard)
      throw error
    }
    // What the function returns decides, from now on, whether its calls are promises (a plain function
    // that returns one): a later synchronous failure then rejects as well.
    if (!this.knownAsync && isPromiseLike(result)) this.knownAsync = true
    return { result, poisoned: state.invalidations !== invalidationsBefore }
  }

  /**
   * Stores a computed value unless an invalidation happened since the computation started. Under local
   * coordination that is checked here; under shared coordination the stamp written with the value is
   * already outdated, so readers ignore it whatever the order of writes.
   */
  private store(key: string, flight: Flight, value: unknown, async: boolean): MaybePromise<void> {
    const { ctx } = this
    // The write of a pending result generation goes with the entry; either way it is settled after.
    let pending = flight.guard
    const finish = () => this.finishFlight(key, flight)
    // Past the store window a guarded write could recreate a generation an invalidation marker held
    // (the marker may have expired since): a provisional one is given up, an existing one is written
    // plainly (its result is then only accepted while that generation still holds the token).
    const late = pending !== undefined && performance.now() - flight.startedAt > PROVISIONAL_STORE_WINDOW_MS
    if (late && !pending!.provisional) pending = undefined
    if (
      flight.poisoned ||
      (ctx.local &&
        (flight.domainGeneration !== ctx.domainGeneration.value ||
          flight.functionGeneration !== this.functionGeneration.value)) ||
      // Too slow to store on a provisional generation: an invalidation marker may have expired since.
      (late && pending !== undefined) ||
      (!ctx.local && this.overtaken(flight.stamp))
    ) {
      finish()
      if (ctx.events.has('discard')) ctx.events.emit('discard', { functionKey: this.functionKey, key })
      return
    }
    if (isGeneratorObject(value)) {
      // A generator object would be served exhausted (or fail to encode): only generator functions have
      // their sequence cached.
      finish()
      const error = new NotSupportedError(
        `"${this.functionKey}" returned a generator object; wrap the generator function itself (function* or async function*) to cache its sequence`,
      )
      ctx.report('encode', error, key)
      if (ctx.onError === 'raise') throw error
      return
    }
    let stored: unknown
    try {
      stored = ctx.live
        ? new LiveEntry(value, async, flight.domainGeneration, flight.functionGeneration)
        : ctx.encodeResult(value, flight.stamp, async)
    } catch (error) {
      finish()
      ctx.report('encode', error, key)
      if (ctx.onError === 'raise') throw error
      return
    }
    const done = () => {
      finish()
      if (ctx.events.has('set')) ctx.events.emit('set', { functionKey: this.functionKey, key })
    }
    const failed = (error: unknown) => {
      finish()
      if (ctx.onError === 'raise') throw error
    }
    let write: MaybePromise<void>
    const { store } = ctx
    const { view } = this
    try {
      write = pending
        ? store.setGuarded(
            {
              key: pending.key,
              value: ctx.encodeToken(pending.token),
              // A result generation lives a little longer than its entry (as when created first).
              ttlMs: this.ttlMs === undefined ? undefined : this.ttlMs * 2,
              bookkeeping: true,
            },
            { key, value: stored, ttlMs: this.ttlMs },
          )
        : view !== undefined
          ? store.io('set', () => view.set(key.slice(this.entryPrefix.length), stored, this.ttlMs), key)
          : store.set(key, stored, this.ttlMs)
    } catch (error) {
      return failed(error)
    }
    if (write instanceof Promise) return write.then(done, failed)
    done()
  }

  // ---- invalidation targets -----------------------------------------------------------------------

  get resultGenerationNamespace(): string {
    return this.resultGenerationPrefix
  }

  get functionGenerationKeyName(): string {
    return this.functionGenerationKey
  }

  get localFunctionGeneration(): GenerationCounter {
    return this.functionGeneration
  }

  get resultTtlMs(): number | undefined {
    return this.ttlMs
  }
}
