import type { Attributes } from '@opentelemetry/api'
import type { AnyBackend } from '../backend/contract.js'
import type { Cache } from '../cache.js'
import { ATTR_CACHE_HIT, ATTR_RAPIDE_DOMAIN, ATTR_RAPIDE_FUNCTION } from './names.js'

/** One series of `rapide.lookups`: its attributes and its value. */
export interface LookupSeries {
  readonly attributes: Attributes
  value: number
}

interface Totals {
  hits: number
  misses: number
  readonly hitAttributes: Attributes
  readonly missAttributes: Attributes
}

/**
 * One cache's hit and miss totals per function, read from `cache.stats()` when the metrics are
 * collected rather than counted from the `hit` event: the hit path then pays nothing for OpenTelemetry
 * (a listener and an SDK `add` per hit would cost several times a memory hit), and the metric agrees
 * with `cache.stats()` by construction (every call is one hit or one miss; a background refresh is
 * neither). The totals only grow: a `stats({ reset: true })` (a new `since`) restarts the differences,
 * never the totals; calls counted between the last collection and a reset are lost.
 *
 * The cache is held weakly, so an instrumentation shared by short-lived caches does not keep them alive.
 */
export class LookupTotals {
  private readonly cache: WeakRef<Cache<AnyBackend>>
  private readonly domain: string
  private since: number | undefined
  /** What the statistics said at the last collection, per function. */
  private readonly seen = new Map<string, { hits: number; misses: number }>()
  private readonly totals = new Map<string, Totals>()

  constructor(cache: Cache<AnyBackend>) {
    this.cache = new WeakRef(cache)
    this.domain = cache.domainKey
  }

  /**
   * Brings the totals up to date and adds them to `sums` (by series: several caches of one domain, or a
   * cache and its successor, share series, and one observation per series is all the SDK keeps). Answers
   * `false` once the cache is gone: its last totals are then kept by the caller as retired, so the
   * counter never goes down.
   */
  report(sums: Map<string, LookupSeries>): boolean {
    const cache = this.cache.deref()
    if (cache === undefined) {
      this.addTo(sums)
      return false
    }
    const snapshot = cache.stats()
    const restarted = snapshot.since !== this.since
    this.since = snapshot.since
    for (const [functionKey, now] of Object.entries(snapshot.functions)) {
      const before = restarted ? undefined : this.seen.get(functionKey)
      this.seen.set(functionKey, { hits: now.hits, misses: now.misses })
      const totals = this.totalsOf(functionKey)
      totals.hits += grownBy(before?.hits, now.hits)
      totals.misses += grownBy(before?.misses, now.misses)
    }
    this.addTo(sums)
    return true
  }

  /** Adds these totals to `sums`, one entry per series. */
  addTo(sums: Map<string, LookupSeries>): void {
    for (const [functionKey, { hits, misses, hitAttributes, missAttributes }] of this.totals) {
      for (const [hit, value, attributes] of [
        [true, hits, hitAttributes],
        [false, misses, missAttributes],
      ] as const) {
        const series = `${this.domain}\0${functionKey}\0${hit}`
        const known = sums.get(series)
        if (known === undefined) sums.set(series, { attributes, value })
        else known.value += value
      }
    }
  }

  private totalsOf(functionKey: string): Totals {
    let totals = this.totals.get(functionKey)
    if (totals === undefined) {
      const common = { [ATTR_RAPIDE_DOMAIN]: this.domain, [ATTR_RAPIDE_FUNCTION]: functionKey }
      totals = {
        hits: 0,
        misses: 0,
        hitAttributes: { ...common, [ATTR_CACHE_HIT]: true },
        missAttributes: { ...common, [ATTR_CACHE_HIT]: false },
      }
      this.totals.set(functionKey, totals)
    }
    return totals
  }
}

/** How much a counter grew since `before`; a counter found smaller was reset in between, and counts from zero. */
function grownBy(before: number | undefined, now: number): number {
  return before === undefined || now < before ? now : now - before
}
