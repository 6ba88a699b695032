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
  const now = Date.now()
  return chain(ctx.store.keys(prefix), (keys) => step(ctx, keys, 0, 0, now - keptMs))
}

function step(
  ctx: CacheContext,
  keys: readonly string[],
  from: number,
  removed: number,
  storedBefore: number,
): MaybePromise<number> {
  if (from >= keys.length) return removed
  const batch = keys.slice(from, from + STEP)
  return chain(ctx.store.getMany(batch), (values) => {
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
    const deleted = dead.length === 0 ? 0 : ctx.store.deleteMany(dead)
    return chain(deleted, (count) => step(ctx, keys, from + STEP, removed + count, storedBefore))
  })
}
