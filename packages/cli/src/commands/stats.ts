import { type DescribedKey, describeEntry, describeKey, generationKeysOf } from '@rapide/core'
import { ExitCode } from '../exit-codes.js'
import { type Column, renderTable } from '../format/table.js'
import { formatBytes, formatCount } from '../format/units.js'
import { openStore } from '../open-store.js'
import { Progress } from '../progress.js'
import { listingPrefix, type Scope } from '../scope.js'
import { batchesOf, listKeys, readMany, sizeOf } from '../store-access.js'
import type { Terminal } from '../terminal.js'

/** Keys read per round trip: large enough for a million keys in seconds, small enough to stay responsive. */
const BATCH = 1000

export interface StatsOptions extends Scope {
  readonly json?: boolean
}

/** What one wrapped function holds in a store. */
export interface FunctionStats {
  readonly functionKey: string
  readonly version: string
  /** Stored results, live and dead. */
  results: number
  /**
   * Results no reader will accept again: their stamp no longer matches the current generations (an
   * invalidation replaced one, or one is gone), or they cannot be read. Space the app reclaims in the
   * background, or `rapide clear` at once.
   */
  dead: number
  /** Per-argument result generations (and invalidation markers). */
  resultGenerations: number
  /** The function's generation, computation locks and rate-limit counters. */
  bookkeeping: number
  /** Bytes of every value above. */
  bytes: number
}

/** What one domain (under one key prefix) holds. */
export interface DomainStats {
  readonly keyPrefix: string
  readonly domain: string
  readonly functions: FunctionStats[]
  /** Values of the key-value API (`cache.set`, `cache.incr`). */
  keyValue: { entries: number; bytes: number }
  /** The domain's generation, `cache.lock` locks, and keys of the namespace this rapide does not know. */
  bookkeeping: number
  /** Bytes of everything the domain holds. */
  bytes: number
}

export interface StoreStats {
  readonly url: string
  keys: number
  bytes: number
  readonly domains: DomainStats[]
  /** Keys outside every rapide namespace (written by something else sharing the store). */
  foreign: { keys: number; bytes: number }
}

/** `rapide stats <url>`: what the store holds, per domain and function, and how much of it is dead. */
export async function stats(url: string, options: StatsOptions, terminal: Terminal): Promise<ExitCode> {
  const prefix = listingPrefix(options)
  const store = openStore(url)
  const result: StoreStats = {
    url: store.label,
    keys: 0,
    bytes: 0,
    domains: [],
    foreign: { keys: 0, bytes: 0 },
  }
  const progress = new Progress(terminal, 'counting', undefined)
  try {
    const listing = await listKeys(store.backend, prefix, store.label)
    if (listing.kind === 'all') progress.setTotal(listing.keys.length)
    const tally = new Tally(result)
    const generations = new Map<string, string | undefined>()
    for await (const batch of batchesOf(listing, BATCH)) {
      const values = await readMany(store.backend, batch)
      // The generations a result must match: domain and function ones are few (read once), result ones
      // are per argument (read with their batch).
      const stampKeys = batch.map((key) => generationKeysOf(key))
      const missing = [...new Set(stampKeys.flatMap((keys) => keys ?? []))].filter(
        (key) => !generations.has(key),
      )
      const tokens = await readMany(store.backend, missing)
      for (const [i, key] of missing.entries()) generations.set(key, tokenOf(tokens[i]))
      batch.forEach((key, i) => {
        const value = values[i]
        if (value === undefined) return // expired or removed since it was listed
        const keys = stampKeys[i]
        const dead =
          keys !== undefined && describeEntry(value).stamp !== keys.map((k) => generations.get(k)).join('.')
        tally.add(describeKey(key), sizeOf(value), dead)
      })
      // Result generations are per argument: keep only the shared ones for the next batches.
      for (const keys of stampKeys) if (keys !== undefined) generations.delete(keys[2])
      progress.advance(batch.length)
    }
  } finally {
    progress.finish()
    await store.close()
  }
  result.domains.sort((a, b) => a.keyPrefix.localeCompare(b.keyPrefix) || a.domain.localeCompare(b.domain))
  for (const domain of result.domains) {
    domain.functions.sort(
      (a, b) => a.functionKey.localeCompare(b.functionKey) || a.version.localeCompare(b.version),
    )
  }
  if (options.json) terminal.out(JSON.stringify(result))
  else print(result, terminal)
  return ExitCode.ok
}

function tokenOf(stored: unknown): string | undefined {
  if (stored instanceof Uint8Array)
    return Buffer.from(stored.buffer, stored.byteOffset, stored.length).toString('utf8')
  return typeof stored === 'string' ? stored : undefined
}

/** Adds keys to the statistics, finding or creating their domain and function rows. */
class Tally {
  private readonly domains = new Map<string, { stats: DomainStats; functions: Map<string, FunctionStats> }>()

  constructor(private readonly result: StoreStats) {}

  add(described: DescribedKey | undefined, bytes: number, dead: boolean): void {
    const { result } = this
    result.keys++
    result.bytes += bytes
    if (described === undefined) {
      result.foreign.keys++
      result.foreign.bytes += bytes
      return
    }
    const domain = this.domain(described)
    domain.bytes += bytes
    const { kind, functionKey, version } = described
    if (kind === 'key-value') {
      domain.keyValue.entries++
      domain.keyValue.bytes += bytes
      return
    }
    if (functionKey === undefined || version === undefined) {
      domain.bookkeeping++
      return
    }
    const fn = this.function(described, functionKey, version)
    fn.bytes += bytes
    if (kind === 'result') {
      fn.results++
      if (dead) fn.dead++
    } else if (kind === 'result-generation') fn.resultGenerations++
    else fn.bookkeeping++
  }

  private domain(described: DescribedKey): DomainStats {
    const id = `${described.keyPrefix}\u0000${described.domain}`
    let entry = this.domains.get(id)
    if (entry === undefined) {
      const stats: DomainStats = {
        keyPrefix: described.keyPrefix,
        domain: described.domain,
        functions: [],
        keyValue: { entries: 0, bytes: 0 },
        bookkeeping: 0,
        bytes: 0,
      }
      entry = { stats, functions: new Map() }
      this.domains.set(id, entry)
      this.result.domains.push(stats)
    }
    return entry.stats
  }

  private function(described: DescribedKey, functionKey: string, version: string): FunctionStats {
    const entry = this.domains.get(`${described.keyPrefix}\u0000${described.domain}`)!
    const id = `${functionKey}\u0000${version}`
    let fn = entry.functions.get(id)
    if (fn === undefined) {
      fn = { functionKey, version, results: 0, dead: 0, resultGenerations: 0, bookkeeping: 0, bytes: 0 }
      entry.functions.set(id, fn)
      entry.stats.functions.push(fn)
    }
    return fn
  }
}

function print(result: StoreStats, terminal: Terminal): void {
  const c = terminal.color
  terminal.out(
    `${c.bold(result.url)}: ${formatCount(result.keys)} keys, ${formatBytes(result.bytes)}${result.foreign.keys > 0 ? c.dim(` (${formatCount(result.foreign.keys)} keys not written by rapide, ${formatBytes(result.foreign.bytes)})`) : ''}`,
  )
  if (result.domains.length === 0) return
  terminal.out('')
  const withPrefix = result.domains.some((domain) => domain.keyPrefix !== '')
  const columns: Column[] = [
    ...(withPrefix ? [{ header: 'PREFIX' }] : []),
    { header: 'DOMAIN' },
    { header: 'FUNCTION' },
    { header: 'VERSION' },
    { header: 'ENTRIES', align: 'right' },
    { header: 'DEAD', align: 'right' },
    { header: 'GENERATIONS', align: 'right' },
    { header: 'OTHER', align: 'right' },
    { header: 'BYTES', align: 'right' },
  ]
  const rows: string[][] = []
  const none = c.dim('-')
  for (const domain of result.domains) {
    const where = withPrefix ? [domain.keyPrefix, domain.domain] : [domain.domain]
    for (const fn of domain.functions) {
      rows.push([
        ...where,
        fn.functionKey,
        fn.version,
        formatCount(fn.results),
        fn.dead > 0 ? c.yellow(formatCount(fn.dead)) : '0',
        formatCount(fn.resultGenerations),
        formatCount(fn.bookkeeping),
        formatBytes(fn.bytes),
      ])
    }
    if (domain.keyValue.entries > 0) {
      rows.push([
        ...where,
        c.dim('(key-value)'),
        '',
        formatCount(domain.keyValue.entries),
        none,
        none,
        none,
        formatBytes(domain.keyValue.bytes),
      ])
    }
    if (domain.bookkeeping > 0) {
      const bytes =
        domain.bytes - domain.keyValue.bytes - domain.functions.reduce((sum, fn) => sum + fn.bytes, 0)
      rows.push([
        ...where,
        c.dim('(domain)'),
        '',
        none,
        none,
        none,
        formatCount(domain.bookkeeping),
        formatBytes(bytes),
      ])
    }
  }
  for (const line of renderTable(columns, rows, c.bold)) terminal.out(line)
  terminal.out('')
  terminal.out(
    c.dim(
      'ENTRIES: results, or key-value values · DEAD: results an invalidation made unreadable (reclaimed in the background, or by `rapide clear`) · GENERATIONS: per-argument result generations · OTHER: function and domain generations, locks, rate-limit counters',
    ),
  )
}
