import type { CacheContext } from '../context.js'
import { isMarkerToken, isSweepableMarker } from './invalidation-markers.js'

/** How many keys one step of a reclamation reads and compares, then pauses. */
const BATCH = 100

/**
 * When the per-argument generations are looked at, after the invalidation. Right after one, results are
 * being recomputed on the generations they had; removing one in between a look at its result and the
 * removal would cost that result a miss (never a wrong value: it is put back, or recreated with the next
 * result). Waiting for the recomputations to pass makes that rare. Process-wide; tests shorten it.
 *
 * @example reclaimTiming.generationDelayMs = 0 // in a test that checks the sweep
 */
export const reclaimTiming = { generationDelayMs: 60_000 }

/** What an invalidation made dead, for the reclamation that follows it. */
export interface DeadScope {
  /** Prefix of the results to look at (`Nr:` for the domain, `Nr:{fn:v:` for a function). */
  readonly results: string
  /** Prefix of their per-argument result generations. */
  readonly resultGenerations: string
  /** Which part of a result's stamp the invalidation changed: 0 the domain, 1 the function. */
  readonly stampPart: 0 | 1
  /** The generation key whose current token a live result carries in that part. */
  readonly generationKey: string
}

/**
 * Reclaims, in the background, the space a function or domain invalidation made dead, on a store under
 * shared coordination (shared, persistent or asynchronous) that can list keys and compare-and-delete:
 *
 * - (when `results`, for a store without `reclaimPrefix`) a result whose stamp no longer carries the
 *   live generation can never be accepted again: it is removed with `deleteIfEquals`, so a result
 *   rewritten meanwhile stays. A result this cache cannot read (another serializer's) is left alone.
 * - a per-argument result generation is removed when no live result uses it (its result is absent or
 *   dead). Removing one could only cost a miss, except for an invalidation marker younger than
 *   `MARKER_SWEEP_AGE_MS`: that is what keeps a late computation from storing (see
 *   invalidation-markers.ts), so it is left alone.
 *
 * The live token is read again for every batch (another invalidation may move it meanwhile). The work goes
 * one batch at a time, never on a caller's time; every step is bounded by the cache's `timeout`; it stops
 * when the cache closes, and reports failures through the `error` event: the invalidation itself has
 * already happened.
 */
export function reclaimDeadResults(ctx: CacheContext, scopes: readonly DeadScope[], results: boolean): void {
  const { store } = ctx
  if (!store.lists || !store.hasDeleteIfEquals || scopes.length === 0) return
  const { reclaiming } = ctx
  for (const scope of scopes) {
    // One reclamation per scope at a time: a burst of invalidations of one function must not stack
    // listings on the connection (each would delay the calls and invalidations behind it). A reclamation
    // already under way runs once more after it ends, which covers what the later invalidations made dead
    // (it reads the live generation again for every batch).
    const id = `${scope.results}\u0000${results}`
    const running = reclaiming.get(id)
    if (running !== undefined) {
      running.again = true
      continue
    }
    const state = { again: false }
    reclaiming.set(id, state)
    const run = async () => {
      try {
        do {
          state.again = false
          try {
            await reclaimScope(ctx, scope, results)
          } catch (error) {
            // A failed pass must not drop the passes asked for meanwhile: reported, and the loop goes on.
            ctx.report('reclaim', error)
          }
        } while (state.again && !ctx.closed)
      } finally {
        reclaiming.delete(id)
      }
    }
    ctx.track(run().catch((error: unknown) => ctx.report('reclaim', error)))
  }
}

async function reclaimScope(ctx: CacheContext, scope: DeadScope, results: boolean): Promise<void> {
  for (const prefix of results ? [scope.results, scope.resultGenerations] : [scope.resultGenerations]) {
    const reclaimBatch = prefix === scope.results ? reclaimResults : reclaimGenerations
    if (prefix === scope.resultGenerations) await ctx.sleepUnlessClosed(reclaimTiming.generationDelayMs)
    if (ctx.closed) return
    let batch: string[] = []
    for await (const key of ctx.store.streamKeys(prefix)) {
      if (ctx.closed) return
      batch.push(key)
      if (batch.length < BATCH) continue
      const started = performance.now()
      await reclaimBatch(ctx, batch, scope)
      batch = []
      // As long a pause as the step took: the store's connection stays free at least half the time, so
      // calls and invalidations are not queued behind a long reclamation (over a million dead keys).
      await ctx.sleepUnlessClosed(Math.min(performance.now() - started, 100))
    }
    if (batch.length > 0 && !ctx.closed) await reclaimBatch(ctx, batch, scope)
  }
}

/** Removes the results of `keys` whose stamp no longer carries the live token. */
async function reclaimResults(ctx: CacheContext, keys: readonly string[], scope: DeadScope): Promise<void> {
  const values = await ctx.store.getMany([scope.generationKey, ...keys])
  const live = ctx.values.decodeToken(values[0])
  const results = values.slice(1)
  await removeIfUnchanged(
    ctx,
    keys,
    results,
    results.map((value) => resultState(ctx, value, scope, live).state === 'dead'),
  )
}

/**
 * Removes the created (non-marker) result generations of `keys` that no live result uses: a result
 * stored after the invalidation keeps its generation, so it stays a hit.
 */
async function reclaimGenerations(
  ctx: CacheContext,
  keys: readonly string[],
  scope: DeadScope,
): Promise<void> {
  const resultKeys = keys.map((key) => scope.results + key.slice(scope.resultGenerations.length))
  const values = await ctx.store.getMany([scope.generationKey, ...keys, ...resultKeys])
  const live = ctx.values.decodeToken(values[0])
  const generations = values.slice(1, 1 + keys.length)
  const dead = keys.map((_, i) => {
    const token = ctx.values.decodeToken(generations[i])
    if (token === undefined || (isMarkerToken(token) && !isSweepableMarker(token))) return false
    const result = resultState(ctx, values[1 + keys.length + i], scope, live)
    // A result this cache cannot read keeps its generation: it may be another serializer's, live.
    return result.state !== 'unreadable' && !(result.state === 'live' && result.token === token)
  })
  const removed = await removeIfUnchanged(ctx, keys, generations, dead)
  await restoreInUse(ctx, scope, keys, resultKeys, generations, removed)
}

/**
 * A result may have been stored on a generation between the look at it and its removal: such a
 * generation is put back (`setNx`, so an invalidation's marker written meanwhile always wins), and the
 * result stays a hit. Nothing stale can come back this way: the token is the one the result carries, and
 * it is only created where nothing is.
 */
async function restoreInUse(
  ctx: CacheContext,
  scope: DeadScope,
  keys: readonly string[],
  resultKeys: readonly string[],
  generations: readonly unknown[],
  removed: readonly boolean[],
): Promise<void> {
  const indexes = keys.map((_, i) => i).filter((i) => removed[i])
  // Without set-if-absent a generation cannot be put back without racing an invalidation's marker.
  if (indexes.length === 0 || !ctx.store.hasSetNx) return
  const values = await ctx.store.getMany([scope.generationKey, ...indexes.map((i) => resultKeys[i]!)])
  const live = ctx.values.decodeToken(values[0])
  const restores: Promise<unknown>[] = []
  indexes.forEach((i, at) => {
    const result = resultState(ctx, values[1 + at], scope, live)
    if (result.state !== 'live' || result.token !== ctx.values.decodeToken(generations[i])) return
    const key = keys[i]!
    restores.push(Promise.resolve(ctx.store.setNx(key, generations[i], undefined)))
  })
  await Promise.all(restores)
}

/** `deleteIfEquals` for each chosen key: whatever was rewritten since it was read stays. */
async function removeIfUnchanged(
  ctx: CacheContext,
  keys: readonly string[],
  values: readonly unknown[],
  chosen: readonly boolean[],
): Promise<boolean[]> {
  return Promise.all(
    keys.map((key, i) => {
      if (!chosen[i]) return false
      const value = values[i]
      return Promise.resolve(ctx.store.deleteIfEquals(key, value))
    }),
  )
}

/**
 * What a stored result is to a reclamation: absent, unreadable by this cache (left alone), dead (its stamp
 * no longer carries the live token of the invalidated scope) or live; and the result generation it was
 * stamped with. One header read, the payload left undecoded.
 */
function resultState(
  ctx: CacheContext,
  stored: unknown,
  scope: DeadScope,
  liveToken: string | undefined,
): { state: 'absent' | 'unreadable' | 'dead' | 'live'; token?: string } {
  if (stored === undefined) return { state: 'absent' }
  const stamp = ctx.values.stampOf(stored)
  if (stamp === undefined || liveToken === undefined) return { state: 'unreadable' }
  const parts = stamp.split('.')
  return { state: parts[scope.stampPart] === liveToken ? 'live' : 'dead', token: parts[2] }
}
