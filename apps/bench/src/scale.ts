import { type MeasureOptions, measure, measureFixed, measureInFlight } from './measure.js'
import type { ScaleStore } from './scale-stores.js'

/** One operation measured at every size. */
export interface ScaleCase {
  readonly backend: string
  readonly operation: string
  /**
   * Why the case has no target, shown in its place: `'reference'` (a hand-written cache over the same
   * store: the store's own growth) or `'one call'` (a single sample: an order of magnitude).
   */
  readonly note?: 'reference' | 'one call'

  /**
   * Time per operation for each number of entries stored, in the order of the report's `sizes`;
   * `undefined` where this backend was not measured at that size (see {@link ScaleStore.sizes}).
   */
  readonly ns: readonly (number | undefined)[]
}

export interface ScaleReport {
  /** Every size measured, ascending: the run's sizes and any backend's own (see {@link ScaleStore.sizes}). */
  readonly sizes: readonly number[]
  readonly cases: readonly ScaleCase[]
  /** How long each fill took, in ms, per backend and size. */
  readonly fills: readonly { backend: string; entries: number; ms: number; method: string }[]
}

/** The most the large size may cost compared to the small one. */
export const SCALE_GOAL = 1.5

/** Random ids: 2^20 of them, so even a million stored keys are visited all over, without a modulo per call. */
const RANDOM_IDS = 1 << 20

/**
 * Invalidations per batch, by backend, with 7 batches (median reported) after one warm-up batch. Fixed
 * rather than sized to a duration: on Redis each function or domain invalidation also starts a background
 * reclamation that lists the dead prefix, so thousands of them would measure that pile-up rather than
 * the invalidation.
 */
const INVALIDATIONS: Record<ScaleStore['backend'], number> = {
  memory: 20_000,
  sqlite: 200,
  redis: 3,
  disk: 200,
}

/**
 * The scale check of MISSION.md: on every backend a hit costs the same (within 1.5×) with 1 000 or
 * 1 000 000 entries stored, and function and domain invalidation cost the same whatever the number of
 * entries. For each backend and each size, a fresh cache is filled with that many results of the
 * workload's function, then:
 *
 * - hits are measured on random stored keys (a precomputed random sequence over the whole stored set, the
 *   same length for both sizes): cycling through a few hot keys would test a CPU cache, not the store;
 * - function invalidation, then domain invalidation, in fixed batches (see {@link INVALIDATIONS}); the
 *   first function invalidation finds every entry live, later ones find them dead but still stored.
 */
export async function runScale(
  stores: readonly ScaleStore[],
  sizes: readonly number[],
  options: MeasureOptions,
  log: (line: string) => void,
): Promise<ScaleReport> {
  const allSizes = [...new Set([...sizes, ...stores.flatMap((store) => store.sizes ?? [])])].sort(
    (a, b) => a - b,
  )
  const cases = new Map<string, ScaleCase & { ns: (number | undefined)[] }>()
  const record = (
    backend: string,
    operation: string,
    entries: number,
    ns: number,
    note?: ScaleCase['note'],
  ) => {
    const key = `${backend}\u0000${operation}`
    let found = cases.get(key)
    if (found === undefined) {
      found = {
        backend,
        operation,
        ns: allSizes.map(() => undefined),
        ...(note === undefined ? {} : { note }),
      }
      cases.set(key, found)
    }
    found.ns[allSizes.indexOf(entries)] = ns
  }
  const fills: ScaleReport['fills'][number][] = []
  for (const store of stores) {
    // A discarded warm-up phase first, at the small size with short rounds: the measuring code's call
    // sites then have seen this backend's every variant before either size is measured, so the small
    // size does not get the benefit of a call site that has seen one function only.
    const storeSizes = store.sizes ?? sizes
    await runPhase(
      store,
      'warmup',
      storeSizes[0]!,
      { rounds: 1, roundMs: 20 },
      () => {},
      () => {},
    )
    for (const entries of storeSizes) {
      await runPhase(store, String(entries), entries, options, log, (result) => {
        if (result.kind === 'fill')
          fills.push({ backend: store.title, entries, ms: result.ms, method: store.fillMethod })
        else record(store.title, result.operation, entries, result.ns, result.note)
      })
    }
    await store.close()
  }
  return { sizes: allSizes, cases: [...cases.values()], fills }
}

/** `RANDOM_IDS` ids drawn uniformly from `0 … entries-1`, from a seeded generator so runs are comparable. */
function randomIds(entries: number): Uint32Array {
  const ids = new Uint32Array(RANDOM_IDS)
  // xorshift32: cheap, seeded, plenty uniform for picking keys.
  let state = 0x9e3779b9
  for (let i = 0; i < RANDOM_IDS; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    ids[i] = (state >>> 0) % entries
  }
  return ids
}

type PhaseResult =
  | { readonly kind: 'fill'; readonly ms: number }
  | {
      readonly kind: 'case'
      readonly operation: string
      readonly ns: number
      readonly note?: ScaleCase['note'] | undefined
    }

/** Fills a fresh phase of `store` with `entries` results, measures it, closes it. */
async function runPhase(
  store: ScaleStore,
  name: string,
  entries: number,
  options: MeasureOptions,
  log: (line: string) => void,
  report: (result: PhaseResult) => void,
): Promise<void> {
  const phase = store.phase(name)
  try {
    log(`  ${store.title}, ${entries.toLocaleString('en-US')} entries: filling (${store.fillMethod}) ...`)
    const started = performance.now()
    await phase.fill(entries, (done) =>
      log(
        `    ${done.toLocaleString('en-US')} stored, ${((performance.now() - started) / 1000).toFixed(1)} s`,
      ),
    )
    const ms = performance.now() - started
    report({ kind: 'fill', ms })
    log(`    filled in ${(ms / 1000).toFixed(1)} s`)
    const ids = randomIds(entries)
    const mask = RANDOM_IDS - 1
    for (const hit of phase.hits) {
      await hit.before?.()
      const operation = (i: number) => hit.call(ids[i & mask]!)
      const result =
        hit.inFlight === undefined
          ? await measure(operation, phase.async, options)
          : await measureInFlight(operation, hit.inFlight, options)
      const note = hit.reference ? 'reference' : undefined
      report({ kind: 'case', operation: hit.label, ns: result.nsPerOp, note })
      log(`    ${hit.label}: ${result.nsPerOp.toFixed(0)} ns`)
    }
    const batch = { rounds: options.rounds, batch: INVALIDATIONS[store.backend] }
    const fn = await measureFixed(() => phase.invalidateFunction(), phase.async, batch)
    report({ kind: 'case', operation: 'function invalidation', ns: fn.nsPerOp })
    const first = 'first function invalidation, every entry live'
    report({ kind: 'case', operation: first, ns: fn.firstNs, note: 'one call' })
    log(
      `    function invalidation: ${fn.nsPerOp.toFixed(0)} ns (the first, every entry live: ${fn.firstNs.toFixed(0)} ns)`,
    )
    const domain = await measureFixed(() => phase.invalidateDomain(), phase.async, batch)
    report({ kind: 'case', operation: 'domain invalidation', ns: domain.nsPerOp })
    log(`    domain invalidation: ${domain.nsPerOp.toFixed(0)} ns`)
  } finally {
    const closing = performance.now()
    await phase.close()
    const closeMs = performance.now() - closing
    if (closeMs > 1000) log(`    closed in ${(closeMs / 1000).toFixed(1)} s`)
    globalThis.gc?.()
  }
}
