import { FRESHNESS_OPTIONS, type FreshnessCase, type FreshnessSubject, STALE } from './freshness-subjects.js'
import type { MeasureOptions } from './measure.js'
import { hitChartSvg, type Row, type Target, targetsTable } from './report.js'
import { HOT_KEYS } from './workload.js'

/** "At most 10% more than a plain hit", as plain time / time with the option: 1 / 1.1. */
export const AT_MOST_10_PERCENT_MORE = 0.91
/** A stale-serving hit answers as fast as a fresh one (within the noise): fresh time / stale time. */
export const STALE_AS_FAST = 0.9

export interface FreshnessResult {
  readonly lane: string
  readonly option: FreshnessCase
  readonly hitNs: number
  /** Background refreshes asked of the function while measured (the stale case: one per hot key). */
  readonly refreshes: number
}

/**
 * The hits of every subject of one lane (backend and function kind), measured side by side: each subject's
 * batch is sized to about `roundMs` (as `measure` does), every subject runs one warm-up batch, then the
 * rounds go round-robin over the subjects, so the machine's noise and the JIT's state fall on every
 * option alike. Median time per call of each subject's rounds.
 */
export async function measureLane(
  subjects: readonly FreshnessSubject[],
  { rounds, roundMs }: MeasureOptions,
): Promise<FreshnessResult[]> {
  const batches = subjects.map((subject) => {
    let counter = 0
    return async (n: number): Promise<number> => {
      const started = process.hrtime.bigint()
      if (subject.inFlight > 1) {
        const perLane = Math.ceil(n / subject.inFlight)
        await Promise.all(
          Array.from({ length: subject.inFlight }, async () => {
            for (let i = 0; i < perLane; i++) await subject.call(counter++ % HOT_KEYS)
          }),
        )
        n = perLane * subject.inFlight
      } else if (subject.async) {
        for (let i = 0; i < n; i++) await subject.call(counter++ % HOT_KEYS)
      } else {
        for (let i = 0; i < n; i++) subject.call(counter++ % HOT_KEYS)
      }
      return Number(process.hrtime.bigint() - started) / n
    }
  })
  const sizes: number[] = []
  for (const timed of batches) {
    let batch = 64
    while ((await timed(batch)) * batch < roundMs * 1e6 * 0.25 && batch < 1 << 26) batch *= 2
    sizes.push(batch * 4)
  }
  for (const [i, timed] of batches.entries()) {
    await new Promise((resolve) => setImmediate(resolve))
    await timed(sizes[i]!)
  }
  const samples: number[][] = subjects.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (const [i, timed] of batches.entries()) {
      // A batch of hits on the memory backend never leaves the microtask queue: between batches the event
      // loop turns, as it does between a server's requests, so background refreshes get to start.
      await new Promise((resolve) => setImmediate(resolve))
      samples[i]!.push(await timed(sizes[i]!))
    }
  }
  return subjects.map((subject, i) => {
    const sorted = samples[i]!.sort((a, b) => a - b)
    return {
      lane: subject.lane,
      option: subject.option,
      hitNs: sorted[Math.floor(sorted.length / 2)]!,
      refreshes: subject.refreshes(),
    }
  })
}

const fmt = (ns: number | undefined) =>
  ns === undefined ? '–' : ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`

const HEADERS: Record<FreshnessCase, string> = {
  plain: 'plain hit',
  neverDie: '`neverDie`',
  staleWhileRevalidate: '`staleWhileRevalidate`',
  earlyRefresh: '`earlyRefresh`',
  [STALE]: 'stale hit (`staleWhileRevalidate`)',
}

/** One row per lane, one column per case: the time per hit. */
export function freshnessTable(results: readonly FreshnessResult[]): string {
  const cases: FreshnessCase[] = [...FRESHNESS_OPTIONS, STALE]
  const lanes = [...new Set(results.map((r) => r.lane))]
  const lines = [
    `| backend (function) | ${cases.map((c) => HEADERS[c]).join(' | ')} |`,
    `|---|${cases.map(() => '---:').join('|')}|`,
  ]
  for (const lane of lanes) {
    const time = (c: FreshnessCase) => results.find((r) => r.lane === lane && r.option === c)?.hitNs
    lines.push(`| ${lane} | ${cases.map((c) => fmt(time(c))).join(' | ')} |`)
  }
  return lines.join('\n')
}

/**
 * The targets: each option's hit against the plain hit of its lane (plain time / option time: at most
 * 10% more is ≥ 0.91×), and the stale hit against the fresh hit with the same option.
 */
export function freshnessTargets(results: readonly FreshnessResult[]): Target[] {
  const targets: Target[] = []
  for (const lane of new Set(results.map((r) => r.lane))) {
    const time = (c: FreshnessCase) => results.find((r) => r.lane === lane && r.option === c)?.hitNs
    const plain = time('plain')
    for (const option of FRESHNESS_OPTIONS) {
      const ours = time(option)
      if (option === 'plain' || plain === undefined || ours === undefined) continue
      targets.push({
        description: `${lane}: ${option} hit vs plain hit (0.91× = at most 10% more)`,
        measured: plain / ours,
        goal: AT_MOST_10_PERCENT_MORE,
      })
    }
    const fresh = time('staleWhileRevalidate')
    const stale = time(STALE)
    if (fresh !== undefined && stale !== undefined) {
      targets.push({
        description: `${lane}: stale hit vs fresh hit, both with staleWhileRevalidate`,
        measured: fresh / stale,
        goal: STALE_AS_FAST,
      })
    }
  }
  return targets
}

/** What shows that the stale rows measured stale hits: one background refresh per hot key, held. */
export function staleCheck(results: readonly FreshnessResult[]): string {
  const lines = results
    .filter((r) => r.option === STALE)
    .map((r) => `${r.lane}: ${r.refreshes.toLocaleString('en-US')}`)
  return `Background refreshes asked for while the stale hits were measured (one per hot key, ${HOT_KEYS.toLocaleString('en-US')}, means every hit met a stale result): ${lines.join('; ')}.`
}

export function freshnessMarkdown(
  results: readonly FreshnessResult[],
  stamp: string,
  quick: boolean,
  inFlight: number,
): string {
  return [
    '# Freshness options: the cost of a hit',
    '',
    `${stamp}. ${quick ? 'Quick run.' : 'Full run.'}`,
    '',
    `Workload: see \`src/workload.ts\` (1 000 hot keys, every call a hit); \`ttl: '1h'\` for every case but the stale one (\`ttl: '50ms'\`, \`staleWhileRevalidate: '1h'\`, measured once every result is past its ttl). Each case has its own cache; the cases of one row are measured round by round in turn. Redis: one call in flight, and ${inFlight}.`,
    '',
    freshnessTable(results),
    '',
    'Ratios (plain time / time with the option; fresh time / stale time):',
    '',
    targetsTable(freshnessTargets(results)),
    '',
    staleCheck(results),
    '',
  ].join('\n')
}

/** The hit throughput of every case, as the bar chart the other groups draw. */
export function freshnessSvg(results: readonly FreshnessResult[], stamp: string): string {
  const rows: Row[] = results.map((r) => ({
    subject: `rapide ${r.lane}, ${r.option}`,
    hitNs: r.hitNs,
    missNs: undefined,
  }))
  return hitChartSvg(rows, 'Freshness options: wrapped-function hit throughput', stamp)
}
