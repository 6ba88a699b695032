import { MemoryBackend } from '@rapide/backend-memory'
import { createCache } from '@rapide/core'
import { loadCustomer, MAX_ENTRIES } from './workload.js'

/** Heap in use after a full collection, at one point of the run. */
export interface HeapSample {
  readonly calls: number
  readonly heapMiB: number
}

export interface GrowthReport {
  readonly samples: readonly HeapSample[]
  readonly entries: number
  /** Heap growth between the first sample after warm-up and the last, MiB. */
  readonly growthMiB: number
  readonly bounded: boolean
}

/** Growth past warm-up that still counts as bounded: noise of the collector, not a leak. */
const TOLERANCE_MIB = 4

/**
 * The memory-growth check: `calls` calls with distinct keys (every one a miss that stores) through the
 * memory backend bounded at `MAX_ENTRIES`. The heap is sampled after a full collection every tenth of the
 * run; once the bound is reached, it must stay flat.
 */
export function memoryGrowth(calls: number): GrowthReport {
  const gc = globalThis.gc
  if (gc === undefined)
    throw new Error('the memory-growth check needs node --expose-gc (pnpm bench passes it)')
  const backend = new MemoryBackend({ maxEntries: MAX_ENTRIES })
  const cache = createCache({ domainKey: 'GROWTH', backend })
  const load = cache.wrap('LOAD_CUSTOMER', loadCustomer)
  const sample = (done: number): HeapSample => {
    gc()
    return { calls: done, heapMiB: process.memoryUsage().heapUsed / 2 ** 20 }
  }
  const samples = [sample(0)]
  const step = Math.ceil(calls / 10)
  for (let done = 0; done < calls; ) {
    const end = Math.min(calls, done + step)
    for (let id = done; id < end; id++) load(id)
    done = end
    samples.push(sample(done))
  }
  const entries = backend.size
  cache.close()
  // Warm-up ends once the bound is full: the sample after 2 × MAX_ENTRIES calls or more.
  const warm = samples.find((s) => s.calls >= 2 * MAX_ENTRIES) ?? samples[1]!
  const growthMiB = samples.at(-1)!.heapMiB - warm.heapMiB
  return { samples, entries, growthMiB, bounded: growthMiB < TOLERANCE_MIB && entries <= MAX_ENTRIES }
}

export function growthMarkdown(report: GrowthReport, stamp: string): string {
  const rows = report.samples.map(
    (s) => `| ${s.calls.toLocaleString('en-US')} | ${s.heapMiB.toFixed(1)} MiB |`,
  )
  return [
    '# Memory backend: heap under many distinct keys',
    '',
    `${stamp}.`,
    '',
    `${report.samples.at(-1)!.calls.toLocaleString('en-US')} calls of a wrapped function with distinct keys (every call a miss that stores) on \`MemoryBackend({ maxEntries: ${MAX_ENTRIES.toLocaleString('en-US')} })\`; heap in use after a full collection.`,
    '',
    '| calls | heap used |',
    '|---:|---:|',
    ...rows,
    '',
    `Entries held at the end: ${report.entries.toLocaleString('en-US')}. Heap growth after warm-up: ${report.growthMiB.toFixed(2)} MiB — ${report.bounded ? '**bounded**' : '**NOT bounded**'} (tolerance ${TOLERANCE_MIB} MiB).`,
    '',
  ].join('\n')
}

/** A line chart of heap in use against calls, as a standalone SVG. */
export function growthSvg(report: GrowthReport, stamp: string): string {
  const width = 900
  const height = 320
  const left = 70
  const right = 30
  const top = 56
  const bottom = 50
  const maxCalls = report.samples.at(-1)!.calls
  const maxHeap = Math.max(...report.samples.map((s) => s.heapMiB)) * 1.2
  const x = (calls: number) => left + ((width - left - right) * calls) / maxCalls
  const y = (mib: number) => height - bottom - ((height - top - bottom) * mib) / maxHeap
  const points = report.samples.map((s) => `${x(s.calls).toFixed(1)},${y(s.heapMiB).toFixed(1)}`).join(' ')
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const mib = maxHeap * f
    return `<line x1="${left}" x2="${width - right}" y1="${y(mib)}" y2="${y(mib)}" stroke="#eee"/><text x="${left - 8}" y="${y(mib) + 4}" text-anchor="end" font-size="11">${mib.toFixed(0)} MiB</text>`
  })
  const xTicks = [0, 0.5, 1].map((f) => {
    const calls = Math.round(maxCalls * f)
    return `<text x="${x(calls)}" y="${height - bottom + 18}" text-anchor="middle" font-size="11">${calls.toLocaleString('en-US')}</text>`
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="16" y="24" font-size="16" font-weight="bold">Memory backend (maxEntries ${MAX_ENTRIES.toLocaleString('en-US')}): heap in use vs distinct keys called</text>`,
    `<text x="16" y="42" font-size="11" fill="#555">${stamp} — growth after warm-up ${report.growthMiB.toFixed(2)} MiB (${report.bounded ? 'bounded' : 'NOT bounded'})</text>`,
    ...ticks,
    ...xTicks,
    `<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle" font-size="11">calls with distinct keys</text>`,
    `<polyline fill="none" stroke="#d9480f" stroke-width="2.5" points="${points}"/>`,
    ...report.samples.map(
      (s) => `<circle cx="${x(s.calls).toFixed(1)}" cy="${y(s.heapMiB).toFixed(1)}" r="3" fill="#d9480f"/>`,
    ),
    '</svg>',
  ].join('\n')
}
