import type { CacheContext } from '../context.js'
import { chain, type MaybePromise } from '../maybe-promise.js'
import type { FlightGuard } from './flights.js'
import { PROVISIONAL_STORE_WINDOW_MS } from './invalidation-markers.js'
import { randomToken } from './random-token.js'

/**
 * The shared-generation protocol of one wrapped function (shared coordination). A result is valid while
 * the three generations it was stamped with (domain, function, result) still hold the same tokens in the
 * store; an invalidation replaces a token, so every result stamped with the old one is dead at once,
 * whatever the number of results (O(1) invalidation, no listing).
 *
 * This file creates missing generations, picks the provisional token of a new argument (written with its
 * result by `setGuarded`), decides what a store is guarded by, and tells whether this process has seen
 * an invalidation overtake a computation. See `invalidation-markers.ts` for the time windows.
 */
export class SharedGenerations {
  /**
   * The function and domain generations this process last read. A computation whose stamp carries older
   * ones was overtaken by an invalidation: its result would be refused by every reader, so it is not
   * written over what may be a valid newer entry.
   */
  private seenFunction: string | undefined
  private seenDomain: string | undefined

  constructor(
    private readonly ctx: CacheContext,
    /** Where this function's results live. */
    private readonly entryPrefix: string,
    /** Where this function's per-argument result generations live. */
    private readonly resultGenerationPrefix: string,
    private readonly functionGenerationKey: string,
    private ttlMs: number | undefined,
    /** The store writes a new result's generation with it (`setGuarded`). */
    readonly guarded: boolean,
  ) {}

  /** The function's results are kept this long now (`setExpiry`): result generations created from now on follow. */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs
  }

  resultGenerationKey(entryKey: string): string {
    return this.resultGenerationPrefix + entryKey.slice(this.entryPrefix.length)
  }

  /** The generations a result of `key` must match, in stamp order reversed: result, function, domain. */
  generationKeys(key: string): string[] {
    return [this.resultGenerationKey(key), this.functionGenerationKey, this.ctx.layout.domainGeneration]
  }

  /**
   * Creates missing generation tokens and returns the stamp `domain.function.result`.
   * `values[at]`, `values[at + 1]`, `values[at + 2]` hold what was read of the three generations.
   */
  ensureGenerations(keys: readonly string[], values: readonly unknown[], at: number): MaybePromise<string> {
    const { ctx } = this
    // The hit path: every generation exists.
    const result = ctx.values.decodeToken(values[at])
    const fn = ctx.values.decodeToken(values[at + 1])
    const domain = ctx.values.decodeToken(values[at + 2])
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
  provisionalGeneration(key: string): string {
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
  pendingGeneration(key: string, stamp: string): FlightGuard | undefined {
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
  guardOf(key: string, stamp: string): FlightGuard {
    const pending = this.pendingGeneration(key, stamp)
    if (pending !== undefined) return pending
    return {
      key: this.resultGenerationKey(key),
      token: stamp.slice(stamp.lastIndexOf('.') + 1),
      provisional: false,
    }
  }

  /** Whether this process has read function or domain generations newer than those of `stamp`. */
  overtaken(stamp: string): boolean {
    const { seenFunction, seenDomain } = this
    if (seenFunction === undefined || seenDomain === undefined) return false
    const domainEnd = stamp.indexOf('.')
    const functionEnd = stamp.indexOf('.', domainEnd + 1)
    return (
      stamp.slice(0, domainEnd) !== seenDomain || stamp.slice(domainEnd + 1, functionEnd) !== seenFunction
    )
  }

  /** Forgets a pending result generation once its computation has stored or failed (unless replaced). */
  settleGeneration(guard: FlightGuard | undefined): void {
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
    const encoded = this.ctx.values.encodeToken(token)
    if (!store.hasSetNx) return chain(store.set(key, encoded, ttlMs), () => token)
    return chain(store.setNx(key, encoded, ttlMs), (stored) => {
      if (stored) return token
      // Someone else created (or invalidated) it first: use theirs.
      return chain(store.get(key), (value) => this.ctx.values.decodeToken(value) ?? token)
    })
  }

  /** The stamp the generations read at `values[at..at+2]` make, if all three exist. */
  stampOf(values: readonly unknown[], at: number): string | undefined {
    const { ctx } = this
    const [result, fn, domain] = [values[at], values[at + 1], values[at + 2]]
    if (result === undefined || fn === undefined || domain === undefined) return undefined
    return `${ctx.values.decodeToken(domain)}.${ctx.values.decodeToken(fn)}.${ctx.values.decodeToken(result)}`
  }
}
