import type { CacheContext } from '../context.js'
import { type ComputationLock, FIRST_POLL_MS, MAX_POLL_MS, sleep } from '../coordination/computation-lock.js'
import type { Flight } from '../coordination/flights.js'
import { randomToken } from '../coordination/random-token.js'

/** What a cross-process locked computation needs of its wrapped function. */
export interface LockHost {
  readonly ctx: CacheContext
  /** The lock key of a result key. */
  lockKey(key: string): string
  /** The valid stored result of `key`, if another process has stored it since `since` (ms since the epoch). */
  lookUp(key: string, since: number): Promise<{ value: unknown; async: boolean } | undefined>
  /** Runs the function and stores its result. */
  runAndStore(
    self: unknown,
    args: readonly unknown[],
    key: string,
    flight: Flight,
    background: boolean,
  ): Promise<unknown>
  /**
   * The flight to compute under now that the lock is held: the same one, or, when the result's
   * generation was created meanwhile with another token than the one this flight's store is guarded by,
   * a new flight on the current generations (a store on the old guard would be skipped by the backend,
   * and the next holder would compute again).
   */
  restamp(key: string, flight: Flight): Promise<Flight>
  /** Ends the computation without storing (its result was found). */
  finish(key: string, flight: Flight): void
  /** Answers a call with the result another process stored (the call was counted as a miss already). */
  answer(value: unknown, async: boolean): unknown
}

/**
 * Cross-process single-flight (the `lock` option of `wrap`). The caller that takes the computation lock
 * computes and stores; the others look at the cache with growing pauses until the result is there, the
 * lock is free again (its holder failed: take it), or `wait` has passed (compute without it). The lock is
 * an optimisation: if it cannot be taken because the backend fails, `silent` computes without it.
 */
export async function lockThenCompute(
  host: LockHost,
  self: unknown,
  args: readonly unknown[],
  key: string,
  lock: ComputationLock,
  flight: Flight,
  /** A background refresh, not a caller's computation (what the compute hook and event are told). */
  background: boolean,
): Promise<unknown> {
  const { ctx } = host
  const { store } = ctx
  const lockKey = host.lockKey(key)
  const since = Date.now()
  const deadline = since + lock.waitMs
  let pause = FIRST_POLL_MS
  for (;;) {
    const owner = ctx.values.encodeToken(randomToken())
    let acquired: boolean
    try {
      acquired = await store.setNx(lockKey, owner, lock.ttlMs)
    } catch (error) {
      if (ctx.onError === 'raise') {
        host.finish(key, flight)
        throw error
      }
      return host.runAndStore(self, args, key, flight, background)
    }
    if (acquired) {
      try {
        // The previous holder may have stored it just before releasing the lock: look once more.
        const stored = await host.lookUp(key, since).catch(() => undefined)
        if (stored !== undefined) {
          host.finish(key, flight)
          return host.answer(stored.value, stored.async)
        }
        const current = await host.restamp(key, flight).catch(() => flight)
        return await host.runAndStore(self, args, key, current, background)
      } finally {
        // Only its owner releases it; if that fails, the lock expires after its ttl.
        await Promise.resolve(store.deleteIfEquals(lockKey, owner)).catch(() => undefined)
      }
    }
    const left = deadline - Date.now()
    if (left <= 0) return host.runAndStore(self, args, key, flight, background)
    await sleep(Math.min(pause, left))
    pause = Math.min(pause * 2, MAX_POLL_MS)
    const found = await host.lookUp(key, since).catch(() => undefined)
    if (found !== undefined) {
      host.finish(key, flight)
      return host.answer(found.value, found.async)
    }
  }
}
