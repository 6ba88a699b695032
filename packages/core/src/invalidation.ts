import type { BackendEntry } from './backend/contract.js'
import type { CacheContext } from './context.js'
import { markerToken, markerTtlMs } from './coordination/invalidation-markers.js'
import { randomToken } from './coordination/random-token.js'
import { type DeadScope, reclaimDeadResults } from './coordination/reclaim-dead-results.js'
import type { FunctionEngine } from './engine/function-engine.js'
import type { CacheEvents } from './events.js'
import { chain, type MaybePromise } from './maybe-promise.js'

/** One invalidation, resolved to backend keys. */
export type InvalidationTarget =
  | { readonly level: 'result'; readonly fn: FunctionEngine; readonly key: string }
  | { readonly level: 'function'; readonly fn: FunctionEngine }
  | { readonly level: 'domain' }

/**
 * Applies invalidations as one atomic step, each O(1) whatever the number of entries:
 *
 * - local coordination: generation counters move (function, domain) or the entry is deleted and its
 *   running computation poisoned (result); everything is synchronous, so nothing can interleave.
 * - shared coordination: every generation involved gets a fresh random token in one atomic `setMany`;
 *   result entries are then deleted to reclaim space (correctness does not depend on that delete).
 *
 * Either way the backend is then told which result prefixes are dead (`reclaimPrefix`), so a persistent
 * store can reclaim them in the background instead of waiting for their TTL.
 *
 * Computations that started earlier carry the old generations, so their late writes are discarded
 * (local) or stored under a stamp no reader accepts (shared).
 */
export function applyInvalidations(
  ctx: CacheContext,
  targets: readonly InvalidationTarget[],
  announce = true,
  /** `false` when the caller deletes the dead results itself right after (`clearFunc`): only generations are reclaimed. */
  reclaimResults = true,
): MaybePromise<void> {
  ctx.assertOpen()
  const { flights } = ctx.state
  ctx.state.invalidations++
  const deletions: string[] = []
  const writes: BackendEntry<unknown>[] = []
  const dead: DeadScope[] = []
  for (const target of targets) {
    switch (target.level) {
      case 'result':
        flights.poison(target.key)
        deletions.push(target.key)
        if (ctx.coordination === 'shared') {
          // A marker outlives every computation that may still store on a provisional generation.
          const ttlMs = markerTtlMs(target.fn.ttlMs)
          writes.push(generationWrite(ctx, target.fn.resultGenerationKey(target.key), ttlMs, true))
        }
        break
      case 'function':
        if (ctx.coordination === 'local') target.fn.functionGeneration.value++
        else writes.push(generationWrite(ctx, target.fn.functionGenerationKey, undefined))
        dead.push({
          results: target.fn.entryPrefix,
          resultGenerations: target.fn.resultGenerationNamespace,
          stampPart: 1,
          generationKey: target.fn.functionGenerationKey,
        })
        break
      case 'domain':
        if (ctx.coordination === 'local') ctx.domainGeneration.value++
        else writes.push(generationWrite(ctx, ctx.layout.domainGeneration, undefined))
        dead.push({
          results: ctx.layout.allResults,
          resultGenerations: ctx.layout.allResultGenerations,
          stampPart: 0,
          generationKey: ctx.layout.domainGeneration,
        })
        break
    }
  }
  const announced = () => {
    if (!announce) return
    const { statistics } = ctx
    if (statistics !== undefined) {
      for (const target of targets)
        statistics.countInvalidation(
          target.level,
          target.level === 'domain' ? undefined : target.fn.functionKey,
        )
    }
    if (!ctx.events.has('invalidate')) return
    for (const target of targets) ctx.events.emit('invalidate', describe(target))
  }
  return chain(ctx.store.setMany(writes), () =>
    chain(ctx.store.deleteMany(deletions), () => chain(reclaim(ctx, dead, reclaimResults), announced)),
  )
}

function generationWrite(
  ctx: CacheContext,
  key: string,
  ttlMs: number | undefined,
  marker = false,
): BackendEntry<unknown> {
  const token = randomToken()
  return { key, value: ctx.values.encodeToken(marker ? markerToken(token) : token), ttlMs, bookkeeping: true }
}

/**
 * After a function or domain invalidation, the space it made dead is reclaimed eventually, never on the
 * caller's time: by the backend itself where it can tell what was written before the call
 * (`reclaimPrefix`: the results), else by the core in the background where the store can list keys and
 * compare-and-delete; per-argument generations by the core in either case. Local coordination has nothing to do: the
 * memory backend's bound and TTLs reclaim it.
 */
function reclaim(ctx: CacheContext, dead: readonly DeadScope[], results: boolean): MaybePromise<void> {
  if (ctx.coordination === 'local' || dead.length === 0) return
  const byBackend = ctx.store.reclaimsPrefixes
  // Generations are always the core's to judge: one written before the call may be what a result
  // stored after it carries, which only a look at that result tells.
  reclaimDeadResults(ctx, dead, results && !byBackend)
  if (byBackend && results) return ctx.store.reclaimPrefixes(dead.map((scope) => scope.results))
}

function describe(target: InvalidationTarget): CacheEvents['invalidate'] {
  switch (target.level) {
    case 'result':
      return { level: 'result', functionKey: target.fn.functionKey, key: target.key }
    case 'function':
      return { level: 'function', functionKey: target.fn.functionKey }
    case 'domain':
      return { level: 'domain' }
  }
}
