import { describeKey } from '@rapide/core'
import { confirm } from '../confirm.js'
import { invalidateThroughCache } from '../domain-cache.js'
import { ExitCode } from '../exit-codes.js'
import { formatCount, formatDuration } from '../format/units.js'
import { openStore } from '../open-store.js'
import { Progress } from '../progress.js'
import { describeScope, listingPrefix } from '../scope.js'
import { batchesOf, deleteMany, listKeys } from '../store-access.js'
import type { Terminal } from '../terminal.js'

export interface ClearOptions {
  readonly domain: string
  readonly prefix?: string
  /** Keys removed per round trip. */
  readonly batch: number
  readonly yes?: boolean
  readonly json?: boolean
}

/**
 * `rapide clear <url> --domain D`: removes everything the domain stores. The domain is invalidated first,
 * through a real cache, so an app running on the store never serves an old value while the keys go; then
 * every key of the domain's namespace (results, generations, key-value values, locks) is deleted in
 * batches. Keys the app writes after the listing are new and valid, and stay.
 *
 * The domain and function generations stay (a few keys): they hold the tokens the invalidation just
 * wrote, which the results an app computes from now on are stamped with. Removing them would make those
 * results dead too, and every app on the store would recompute twice.
 */
export async function clear(url: string, options: ClearOptions, terminal: Terminal): Promise<ExitCode> {
  const scope = { domain: options.domain, prefix: options.prefix }
  const namespace = listingPrefix(scope)
  const store = openStore(url)
  const progress = new Progress(terminal, `clearing ${options.domain}`, undefined)
  try {
    await confirm(
      terminal,
      `Remove everything ${describeScope(scope)} stores on ${store.label} (results, key-value values, locks)?`,
      options.yes === true,
    )
    await invalidateThroughCache(store.backend, { domain: options.domain, prefix: options.prefix }, undefined)
    const listing = await listKeys(store.backend, namespace, store.label)
    if (listing.kind === 'all') progress.setTotal(listing.keys.length)
    let removed = 0
    let kept = 0
    for await (const batch of batchesOf(listing, options.batch)) {
      const doomed = batch.filter((key) => !isGenerationToken(key))
      kept += batch.length - doomed.length
      removed += await deleteMany(store.backend, doomed)
      progress.advance(batch.length)
    }
    progress.finish()
    const seconds = progress.elapsedMs
    if (options.json) {
      terminal.out(
        JSON.stringify({
          url: store.label,
          domain: options.domain,
          keyPrefix: options.prefix ?? '',
          removed,
          kept,
          ms: Math.round(seconds),
        }),
      )
    } else {
      terminal.out(
        `${terminal.color.green('Cleared')} ${describeScope(scope)} on ${store.label}: ${formatCount(removed)} keys removed in ${formatDuration(seconds)}${kept > 0 ? ` (${kept} generation ${kept === 1 ? 'token' : 'tokens'} kept)` : ''}.`,
      )
    }
    return ExitCode.ok
  } finally {
    progress.finish()
    await store.close()
  }
}

/** The domain's and its functions' generations: what results computed after the invalidation depend on. */
function isGenerationToken(key: string): boolean {
  const kind = describeKey(key)?.kind
  return kind === 'domain-generation' || kind === 'function-generation'
}
