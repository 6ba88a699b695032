import type { CacheContext } from '../context.js'
import { LiveEntry } from '../live-entry.js'
import { chain, type MaybePromise } from '../maybe-promise.js'
import { decodeTiming } from '../serialization/envelope.js'

/** Results read per step. */
const STEP = 100

/**
 * Removes the stored results under `prefix` that are past `keptMs` (their ttl plus what the strategies
 * may still use them for), or that do not decode; answers how many it removed. Needs a store that lists
 * keys (`NotSupportedError` otherwise). Synchronous on a synchronous store. Results written by an older
 * release carry no time: their backend ttl removes them.
 */
export function flushExpired(
  ctx: CacheContext,
  prefix: string,
  keptMs: number | undefined,
): MaybePromise<number> {
  if (keptMs === undefined) return chain(ctx.store.keys(prefix), () => 0)
  const storedBefore = Date.now() - keptMs
  return chain(ctx.store.keys(prefix), (keys) => steps(ctx, keys, 0, 0, storedBefore))
}

/**
 * The steps from `from` on: a loop while the store answers synchronously (a million keys must not make a
 * million nested calls), continued after each promise where it answers asynchronously.
 */
function steps(
  ctx: CacheContext,
  keys: readonly string[],
  from: number,
  removed: number,
  storedBefore: number,
): MaybePromise<number> {
  for (let at = from; at < keys.length; at += STEP) {
    const batch = keys.slice(at, at + STEP)
    const values = ctx.store.getMany(batch)
    const deleted = chain(values, (read) => deleteDead(ctx, batch, read, storedBefore))
    if (deleted instanceof Promise) {
      return deleted.then((count) => steps(ctx, keys, at + STEP, removed + count, storedBefore))
    }
    removed += deleted
  }
  return removed
}

/** Deletes the results of `batch` stored before `storedBefore` or undecodable; answers how many. */
function deleteDead(
  ctx: CacheContext,
  batch: readonly string[],
  values: readonly unknown[],
  storedBefore: number,
): MaybePromise<number> {
  const dead: string[] = []
  for (let i = 0; i < batch.length; i++) {
    const stored = values[i]
    if (stored === undefined) continue
    let storedAt: number
    if (stored instanceof LiveEntry) storedAt = stored.storedAt
    else {
      try {
        storedAt = decodeTiming(ctx.serializer, stored).storedAt
      } catch {
        dead.push(batch[i]!) // does not decode: never served, removed
        continue
      }
    }
    if (storedAt !== 0 && storedAt < storedBefore) dead.push(batch[i]!)
  }
  return dead.length === 0 ? 0 : ctx.store.deleteMany(dead)
}
