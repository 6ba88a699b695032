import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measure } from './measure.js'
import {
  hitChartSvg,
  machineDescription,
  markdownTable,
  type Row,
  type Target,
  targetsTable,
} from './report.js'
import { memorySubjects, type Subject } from './subjects.js'
import { HOT_KEYS } from './workload.js'

/**
 * `pnpm bench [--quick] [--filter <text>]`: measures every subject's hit and miss in this one process and
 * prints a table with the MISSION.md target ratios; writes results/memory.md and results/memory-hit.svg.
 */
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const filterAt = args.indexOf('--filter')
const filter = filterAt >= 0 ? args[filterAt + 1]?.toLowerCase() : undefined
const options = quick ? { rounds: 3, roundMs: 60 } : { rounds: 7, roundMs: 250 }

async function run(subject: Subject): Promise<Row> {
  for (let id = 0; id < HOT_KEYS; id++) await subject.call(id)
  const hit = await measure((i) => subject.call(i % HOT_KEYS), subject.async, options)
  const miss = await measure((i) => subject.call(1_000_000 + i), subject.async, options)
  return { subject: subject.name, hitNs: hit.nsPerOp, missNs: miss.nsPerOp }
}

const subjects = memorySubjects().filter((s) => !filter || s.name.toLowerCase().includes(filter))
const rows: Row[] = []
console.log(`rapide benchmarks, memory backend — ${machineDescription()}`)
console.log(
  `${quick ? 'quick run' : 'full run'}: ${options.rounds} rounds of ~${options.roundMs} ms per case\n`,
)
for (const subject of subjects) {
  process.stdout.write(`  measuring ${subject.name} ...`)
  const row = await run(subject)
  rows.push(row)
  process.stdout.write(` hit ${row.hitNs!.toFixed(0)} ns, miss ${row.missNs!.toFixed(0)} ns\n`)
  await subject.close?.()
  // Start every subject from a collected heap, so one subject's garbage is not billed to the next.
  globalThis.gc?.()
}

const hitOf = (name: string) => rows.find((r) => r.subject === name)?.hitNs
const ratio = (rapide: string, peer: string) => {
  const a = hitOf(rapide)
  const b = hitOf(peer)
  return a === undefined || b === undefined ? undefined : b / a
}
const targets: Target[] = []
const addTarget = (description: string, rapide: string, peer: string, goal: number) => {
  const measured = ratio(rapide, peer)
  if (measured !== undefined) targets.push({ description, measured, goal })
}
addTarget('async hit vs async-cache-dedupe', 'rapide memory (async fn)', 'async-cache-dedupe', 2)
addTarget('async hit vs bentocache', 'rapide memory (async fn)', 'bentocache (memory)', 8)
addTarget(
  'sync hit vs hand-written memo (0.5× = within 2×)',
  'rapide memory (sync fn)',
  'hand-written JSON.stringify + Map memo (sync)',
  0.5,
)
addTarget('async hit vs cache-manager', 'rapide memory (async fn)', 'cache-manager (keyv memory)', 1)
addTarget('async hit vs cachified', 'rapide memory (async fn)', '@epic-web/cachified (lru-cache)', 1)

const table = markdownTable(rows)
const ratios = targetsTable(targets)
console.log(`\n${table}\n\nRatios are peer time / rapide time (higher is better for rapide):\n\n${ratios}\n`)

if (!filter) {
  const here = dirname(fileURLToPath(import.meta.url))
  const out = join(here, '..', 'results')
  mkdirSync(out, { recursive: true })
  const stamp = `${new Date().toISOString().slice(0, 10)} — ${machineDescription()}`
  writeFileSync(
    join(out, 'memory.md'),
    `# Memory backend: wrapped-function hit and miss\n\n${stamp}. ${quick ? 'Quick run.' : 'Full run.'}\n\n` +
      `Workload: see \`src/workload.ts\` (1-argument function, small object, 1 000 hot keys, one call in flight).\n\n` +
      `${table}\n\nRatios (peer time / rapide time):\n\n${ratios}\n`,
  )
  writeFileSync(
    join(out, 'memory-hit.svg'),
    hitChartSvg(rows, 'Memory backend: cached hit throughput', stamp),
  )
  console.log(`wrote ${join('apps/bench/results', 'memory.md')} and memory-hit.svg`)
}
