import type { CacheContext } from '../context.js'
import { isMarkerToken } from './invalidation-markers.js'

/** How many keys one step of a reclamation reads and compares, then yields to the event loop. */
const BATCH = 200

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
 * Reclaims, in the background, the space a function or domain invalidation made dead, on a shared store
 * that cannot do it by itself (no `reclaimPrefix`, as on Redis) but can list keys and compare-and-delete.
 *
 * - A result whose stamp does not carry the current generation can never be accepted again: it is
 *   removed with `deleteIfEquals`, so a result rewritten meanwhile stays.
 * - A per-argument result generation is removed when no live result uses it (its result is absent or
 *   dead), unless it is an invalidation marker. Removing one could only cost a miss; a marker is what
 *   keeps a late computation from storing (see invalidation-markers.ts), so markers are left to expire.
 *
 * It runs step by step (one batch, then the event loop), never on a caller's time, stops when the cache
 * closes, and reports failures through the `error` event; the invalidation itself has already happened.
 */
export function reclaimDeadResults(ctx: CacheContext, scopes: readonly DeadScope[]): void {
  const { backend } = ctx
  if (!backend.keys || !backend.deleteIfEquals || !backend.capabilities.shared || scopes.length === 0) return
  const run = async () => {
    for (const scope of scopes) {
      if (ctx.closed) return
      await reclaimScope(ctx, scope)
    }
  }
  const running = run().catch((error: unknown) => ctx.report('reclaim', error))
  ctx.background(running)
}

async function reclaimScope(ctx: CacheContext, scope: DeadScope): Promise<void> {
  const [current] = await ctx.getMany([scope.generationKey])
  const token = ctx.decodeToken(current)
  for (const prefix of [scope.results, scope.resultGenerations]) {
    const reclaimBatch = prefix === scope.results ? reclaimResults : reclaimGenerations
    let batch: string[] = []
    for await (const key of listKeys(ctx, prefix)) {
      batch.push(key)
      if (batch.length < BATCH) continue
      if (ctx.closed) return
      await reclaimBatch(ctx, batch, scope, token)
      batch = []
      await new Promise((resolve) => setImmediate(resolve))
    }
    if (batch.length > 0 && !ctx.closed) await reclaimBatch(ctx, batch, scope, token)
  }
}

/** Removes the results of `keys` whose stamp no longer carries the live token. */
async function reclaimResults(
  ctx: CacheContext,
  keys: readonly string[],
  scope: DeadScope,
  liveToken: string | undefined,
): Promise<void> {
  const values = await ctx.getMany(keys)
  await removeIfUnchanged(
    ctx,
    keys,
    values,
    keys.map((_, i) => values[i] !== undefined && isDeadResult(ctx, values[i], scope.stampPart, liveToken)),
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
  liveToken: string | undefined,
): Promise<void> {
  const resultKeys = keys.map((key) => scope.results + key.slice(scope.resultGenerations.length))
  const values = await ctx.getMany([...keys, ...resultKeys])
  const dead = keys.map((_, i) => {
    const token = ctx.decodeToken(values[i])
    if (token === undefined || isMarkerToken(token)) return false
    const result = values[keys.length + i]
    if (result === undefined || isDeadResult(ctx, result, scope.stampPart, liveToken)) return true
    return ctx.stampOf(result)?.split('.')[2] !== token
  })
  await removeIfUnchanged(ctx, keys, values, dead)
}

/** `deleteIfEquals` for each chosen key: whatever was rewritten since it was read stays. */
async function removeIfUnchanged(
  ctx: CacheContext,
  keys: readonly string[],
  values: readonly unknown[],
  chosen: readonly boolean[],
): Promise<void> {
  const { backend } = ctx
  const removals: Promise<unknown>[] = []
  for (let i = 0; i < keys.length; i++) {
    if (!chosen[i]) continue
    const key = keys[i]!
    const value = values[i]
    removals.push(Promise.resolve(ctx.io('deleteIfEquals', () => backend.deleteIfEquals!(key, value), key)))
  }
  await Promise.all(removals)
}

/** A result is dead when its stamp no longer carries the live token (or it cannot be read at all). */
function isDeadResult(
  ctx: CacheContext,
  stored: unknown,
  stampPart: 0 | 1,
  liveToken: string | undefined,
): boolean {
  const stamp = ctx.stampOf(stored)
  if (stamp === undefined) return true
  return liveToken === undefined || stamp.split('.')[stampPart] !== liveToken
}

async function* listKeys(ctx: CacheContext, prefix: string): AsyncGenerator<string> {
  const { backend } = ctx
  const listed = await ctx.io<Iterable<string> | AsyncIterable<string>>(
    'keys',
    () => backend.keys!(prefix),
    prefix,
  )
  yield* listed
}
