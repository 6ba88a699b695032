import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { diskPeerSubjects, rapideDiskSubjects } from './disk-subjects.js'
import {
  type FreshnessResult,
  freshnessMarkdown,
  freshnessSvg,
  freshnessTable,
  freshnessTargets,
  measureLane,
  staleCheck,
} from './freshness.js'
import {
  type FreshnessSubject,
  memoryFreshnessSubjects,
  redisFreshnessSubjects,
} from './freshness-subjects.js'
import { measure, measureInFlight } from './measure.js'
import { growthMarkdown, growthSvg, memoryGrowth } from './memory-growth.js'
import { runOperationsSection } from './operations-cost.js'
import { formatReadme, updateReadme } from './readme.js'
import { benchRedis } from './redis-server.js'
import { redisSubjects } from './redis-subjects.js'
import {
  hitChartSvg,
  machineDescription,
  markdownTable,
  type Row,
  type Target,
  targetsTable,
} from './report.js'
import { runScale, type ScaleReport } from './scale.js'
import { scaleDetails, scaleMarkdown, scaleSvg, scaleTable } from './scale-report.js'
import {
  diskScaleStore,
  memoryScaleStore,
  redisScaleStore,
  type ScaleStore,
  sqliteScaleStore,
} from './scale-stores.js'
import { sqliteSubjects } from './sqlite-subjects.js'
import {
  runStampede,
  type StampedeMode,
  stampedeDescription,
  stampedeMarkdown,
  stampedeTable,
} from './stampede.js'
import { memorySubjects, type Subject } from './subjects.js'
import { HOT_KEYS } from './workload.js'

/**
 * `pnpm bench [--quick] [--section peers|growth|scale|freshness|operations] [--backend memory|sqlite|redis|disk] [--filter <text>]`:
 * measures every subject's hit and miss in this one process and prints tables with the MISSION.md target
 * ratios; writes results/<backend>.md and results/<backend>-hit.svg for each backend measured without a
 * filter. Then the memory-growth check, then the scale check (hits and invalidations with 1 000 and
 * 1 000 000 entries stored), then the freshness section (the hit with freshness options on against a
 * plain hit, memory and Redis; the stampede row on Redis), then the operations section (the hit cost of
 * signed values and of statistics; see operations-cost.ts). `--section` runs one of the five only.
 */
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const option = (name: string) => {
  const at = args.indexOf(name)
  return at >= 0 ? args[at + 1]?.toLowerCase() : undefined
}
const filter = option('--filter')
const onlyBackend = option('--backend')
const SECTIONS = ['peers', 'growth', 'scale', 'freshness', 'operations'] as const
const onlySection = option('--section')
if (onlySection !== undefined && !SECTIONS.some((s) => s === onlySection)) {
  console.error(`--section must be one of ${SECTIONS.join(', ')}`)
  process.exit(2)
}
const runs = (section: (typeof SECTIONS)[number]) => onlySection === undefined || onlySection === section
const options = quick ? { rounds: 3, roundMs: 60 } : { rounds: 7, roundMs: 250 }

/** A target: `peer time / rapide time` of a case must reach `goal`. */
interface TargetSpec {
  readonly description: string
  readonly rapide: string
  readonly peer: string
  readonly goal: number
  readonly on: 'hit' | 'miss' | 'hitInFlight'
}

interface Group {
  readonly backend: string
  readonly title: string
  readonly subjects: () => Subject[] | Promise<Subject[]>
  readonly targets: readonly TargetSpec[]
  /** Also measure hits with this many calls in flight (remote backends). */
  readonly inFlight?: number
  /** Runs after the group (stops the servers its subjects needed). */
  readonly after?: () => Promise<void>
}

/** The disk group's raw reference (see `src/raw-disk-cache.ts`). */
const RAW_DISK = 'raw readFileSync + v8, temp file + renameSync'

let redisServer: Awaited<ReturnType<typeof benchRedis>> | undefined

const groups: Group[] = [
  {
    backend: 'memory',
    title: 'Memory backend',
    subjects: memorySubjects,
    targets: [
      {
        description: 'async hit vs async-cache-dedupe',
        rapide: 'rapide memory (async fn)',
        peer: 'async-cache-dedupe',
        goal: 2,
        on: 'hit',
      },
      {
        description: 'async hit vs bentocache',
        rapide: 'rapide memory (async fn)',
        peer: 'bentocache (memory)',
        goal: 8,
        on: 'hit',
      },
      {
        description: 'sync hit vs hand-written memo (0.5× = within 2×)',
        rapide: 'rapide memory (sync fn)',
        peer: 'hand-written JSON.stringify + Map memo (sync)',
        goal: 0.5,
        on: 'hit',
      },
      {
        description: 'async hit vs cache-manager',
        rapide: 'rapide memory (async fn)',
        peer: 'cache-manager (keyv memory)',
        goal: 1,
        on: 'hit',
      },
      {
        description: 'async hit vs cachified',
        rapide: 'rapide memory (async fn)',
        peer: '@epic-web/cachified (lru-cache)',
        goal: 1,
        on: 'hit',
      },
    ],
  },
  {
    backend: 'sqlite',
    title: 'SQLite backend',
    subjects: sqliteSubjects,
    targets: [
      {
        description: 'hit vs raw better-sqlite3 SELECT + decode',
        rapide: 'rapide sqlite (sync fn)',
        peer: 'raw better-sqlite3 + v8',
        goal: 0.7,
        on: 'hit',
      },
      {
        description: 'hit with readCache off vs raw better-sqlite3 SELECT + decode',
        rapide: 'rapide sqlite (sync fn, readCache off)',
        peer: 'raw better-sqlite3 + v8',
        goal: 0.7,
        on: 'hit',
      },
      {
        description: 'miss vs raw better-sqlite3 INSERT OR REPLACE',
        rapide: 'rapide sqlite (sync fn)',
        peer: 'raw better-sqlite3 + v8',
        goal: 0.5,
        on: 'miss',
      },
      {
        description: 'async hit vs cache-manager + @keyv/sqlite',
        rapide: 'rapide sqlite (async fn)',
        peer: 'cache-manager + @keyv/sqlite',
        goal: 1,
        on: 'hit',
      },
      {
        description: 'async miss vs cache-manager + @keyv/sqlite',
        rapide: 'rapide sqlite (async fn)',
        peer: 'cache-manager + @keyv/sqlite',
        goal: 1,
        on: 'miss',
      },
    ],
  },
  {
    backend: 'redis',
    title: 'Redis backend',
    subjects: async () => {
      redisServer = await benchRedis()
      return redisSubjects(redisServer.url)
    },
    after: async () => {
      await redisServer?.stop()
    },
    inFlight: 64,
    targets: [
      {
        description: 'hit, 64 in flight, vs raw ioredis GET + decode',
        rapide: 'rapide redis (async fn)',
        peer: 'raw ioredis GET + v8',
        goal: 0.9,
        on: 'hitInFlight',
      },
      {
        description: 'hit, 64 in flight, vs cache-manager + @keyv/redis',
        rapide: 'rapide redis (async fn)',
        peer: 'cache-manager + @keyv/redis',
        goal: 1,
        on: 'hitInFlight',
      },
      {
        description: 'hit, 64 in flight, vs bentocache (redis L2)',
        rapide: 'rapide redis (async fn)',
        peer: 'bentocache (redis L2)',
        goal: 1,
        on: 'hitInFlight',
      },
    ],
  },
  {
    backend: 'disk',
    title: 'Disk backend',
    subjects: () => [...rapideDiskSubjects(), ...diskPeerSubjects()],
    targets: [
      {
        description: 'hit vs raw readFileSync + decode',
        rapide: 'rapide disk (sync fn)',
        peer: RAW_DISK,
        goal: 0.6,
        on: 'hit',
      },
      {
        description: 'miss vs raw write temp file + renameSync',
        rapide: 'rapide disk (sync fn)',
        peer: RAW_DISK,
        goal: 0.5,
        on: 'miss',
      },
      {
        description: 'async hit vs bentocache (file driver)',
        rapide: 'rapide disk (async fn)',
        peer: 'bentocache (file driver)',
        goal: 10,
        on: 'hit',
      },
      {
        description: 'async hit vs cacache',
        rapide: 'rapide disk (async fn)',
        peer: 'cacache',
        goal: 1,
        on: 'hit',
      },
      {
        description: 'async miss vs cacache',
        rapide: 'rapide disk (async fn)',
        peer: 'cacache',
        goal: 1,
        on: 'miss',
      },
    ],
  },
]

async function run(subject: Subject, inFlight: number | undefined): Promise<Row> {
  for (let id = 0; id < HOT_KEYS; id++) await subject.call(id)
  const hit = await measure((i) => subject.call(i % HOT_KEYS), subject.async, options)
  const hitInFlight =
    inFlight === undefined
      ? undefined
      : await measureInFlight((i) => subject.call(i % HOT_KEYS), inFlight, options)
  const miss = await measure((i) => subject.call(1_000_000 + i), subject.async, options)
  return {
    subject: subject.name,
    hitNs: hit.nsPerOp,
    missNs: miss.nsPerOp,
    hitInFlightNs: hitInFlight?.nsPerOp,
  }
}

const results = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')
const readme = join(results, '..', '..', '..', 'README.md')
const benchReadme = join(results, '..', 'README.md')
let benchReadmeChanged = false
console.log(`rapide benchmarks — ${machineDescription()}`)
console.log(
  `${quick ? 'quick run' : 'full run'}: ${options.rounds} rounds of ~${options.roundMs} ms per case`,
)

for (const group of groups) {
  if (!runs('peers') || (onlyBackend && group.backend !== onlyBackend)) continue
  let all: Subject[]
  try {
    all = await group.subjects()
  } catch (error) {
    // A group whose server cannot be started (no redis-server) is skipped; the others still run.
    console.error(`\n${group.title}: skipped — ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
    continue
  }
  const subjects = all.filter((s) => !filter || s.name.toLowerCase().includes(filter))
  console.log(`\n${group.title}`)
  const rows: Row[] = []
  for (const subject of all) {
    if (subjects.includes(subject)) {
      process.stdout.write(`  measuring ${subject.name} ...`)
      const row = await run(subject, group.inFlight)
      rows.push(row)
      const inFlight =
        row.hitInFlightNs === undefined
          ? ''
          : `, hit ${group.inFlight} in flight ${row.hitInFlightNs.toFixed(0)} ns`
      process.stdout.write(` hit ${row.hitNs!.toFixed(0)} ns${inFlight}, miss ${row.missNs!.toFixed(0)} ns\n`)
    }
    await subject.close?.()
    // Start every subject from a collected heap, so one subject's garbage is not billed to the next.
    globalThis.gc?.()
  }
  await group.after?.()
  const timeOf = (name: string, on: TargetSpec['on']) => {
    const row = rows.find((r) => r.subject === name)
    return on === 'hit' ? row?.hitNs : on === 'miss' ? row?.missNs : row?.hitInFlightNs
  }
  const targets: Target[] = []
  for (const spec of group.targets) {
    const ours = timeOf(spec.rapide, spec.on)
    const theirs = timeOf(spec.peer, spec.on)
    if (ours !== undefined && theirs !== undefined) {
      targets.push({ description: spec.description, measured: theirs / ours, goal: spec.goal })
    }
  }
  const table = markdownTable(rows, group.inFlight)
  const ratios = targetsTable(targets)
  console.log(`\n${table}\n\nRatios are peer time / rapide time (higher is better for rapide):\n\n${ratios}`)
  if (filter) continue
  mkdirSync(results, { recursive: true })
  const stamp = `${new Date().toISOString().slice(0, 10)} — ${machineDescription()}`
  writeFileSync(
    join(results, `${group.backend}.md`),
    `# ${group.title}: wrapped-function hit and miss\n\n${stamp}. ${quick ? 'Quick run.' : 'Full run.'}\n\n` +
      `Workload: see \`src/workload.ts\` (1-argument function, small object, 1 000 hot keys, ${group.inFlight ? `one call in flight, and ${group.inFlight} in flight for the second hit column` : 'one call in flight'}).\n\n` +
      `${table}\n\nRatios (peer time / rapide time):\n\n${ratios}\n`,
  )
  writeFileSync(
    join(results, `${group.backend}-hit.svg`),
    group.inFlight === undefined
      ? hitChartSvg(rows, `${group.title}: cached hit throughput`, stamp)
      : hitChartSvg(
          rows.map((r) => ({ ...r, hitNs: r.hitInFlightNs })),
          `${group.title}: cached hit throughput, ${group.inFlight} calls in flight`,
          stamp,
        ),
  )
  console.log(`wrote apps/bench/results/${group.backend}.md and ${group.backend}-hit.svg`)
  if (!quick && updateReadme(readme, group.backend, `${table}\n\n${ratios}`)) {
    console.log(`updated the ${group.backend} tables in the root README`)
  }
  // A group the root README does not show yet (disk) has its tables in apps/bench/README.md.
  if (!quick && updateReadme(benchReadme, group.backend, `${stamp}.\n\n${table}\n\n${ratios}`)) {
    benchReadmeChanged = true
    console.log(`updated the ${group.backend} tables in apps/bench/README.md`)
  }
}

// The memory-growth check: many distinct keys on the bounded memory backend must not grow the heap.
if (runs('growth') && !filter && (!onlyBackend || onlyBackend === 'memory')) {
  const calls = quick ? 200_000 : 1_000_000
  console.log(`\nMemory growth: ${calls.toLocaleString('en-US')} distinct keys on the bounded memory backend`)
  const report = memoryGrowth(calls)
  for (const s of report.samples)
    console.log(`  after ${s.calls.toLocaleString('en-US').padStart(9)} calls: ${s.heapMiB.toFixed(1)} MiB`)
  console.log(
    `  growth after warm-up ${report.growthMiB.toFixed(2)} MiB: ${report.bounded ? 'bounded' : 'NOT BOUNDED'}`,
  )
  if (!report.bounded) process.exitCode = 1
  const stamp = `${new Date().toISOString().slice(0, 10)} — ${machineDescription()}`
  mkdirSync(results, { recursive: true })
  writeFileSync(join(results, 'memory-growth.md'), growthMarkdown(report, stamp))
  writeFileSync(join(results, 'memory-growth.svg'), growthSvg(report, stamp))
  console.log('wrote apps/bench/results/memory-growth.md and memory-growth.svg')
  const summary = growthMarkdown(report, stamp)
    .split('\n')
    .find((line) => line.startsWith('Entries held'))
  if (!quick && summary && updateReadme(readme, 'memory-growth', summary)) {
    console.log('updated the memory-growth line in the root README')
  }
}

// The scale check: a hit and an invalidation with few and many entries stored, on every backend.
let rootReadmeChanged = runs('peers') || runs('growth')
if (runs('scale') && !filter) {
  const sizes = quick ? [1_000, 100_000] : [1_000, 1_000_000]
  console.log(
    `\nScale: hits on random keys and invalidations with ${sizes.map((n) => n.toLocaleString('en-US')).join(' and ')} entries stored`,
  )
  const stores: ScaleStore[] = []
  const wanted = (backend: string) => !onlyBackend || onlyBackend === backend
  if (wanted('memory')) stores.push(memoryScaleStore(sizes.at(-1)!))
  if (wanted('sqlite')) stores.push(sqliteScaleStore())
  // The disk also at 100 000 entries: its row in the issue has three sizes.
  if (wanted('disk')) stores.push(diskScaleStore(quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000]))
  let scaleRedis: Awaited<ReturnType<typeof benchRedis>> | undefined
  if (wanted('redis')) {
    try {
      scaleRedis = await benchRedis()
      stores.push(redisScaleStore(scaleRedis.url, process.env.REDIS_URL === undefined))
    } catch (error) {
      console.error(`  Redis: skipped — ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = 1
    }
  }
  const started = performance.now()
  let report: ScaleReport
  try {
    report = await runScale(stores, sizes, options, (line) => console.log(line))
  } finally {
    await scaleRedis?.stop()
  }
  const stamp = `${new Date().toISOString().slice(0, 10)} — ${machineDescription()}`
  const table = scaleTable(report)
  console.log(
    `\n${table}\n\n${scaleDetails(report)}\n\nscale run: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  )
  mkdirSync(results, { recursive: true })
  // A run of one backend keeps its own files, so it does not replace the run of every backend.
  const file = onlyBackend === undefined ? 'scale' : `scale-${onlyBackend}`
  writeFileSync(join(results, `${file}.md`), scaleMarkdown(report, stamp, quick))
  writeFileSync(join(results, `${file}.svg`), scaleSvg(report, stamp))
  console.log(`wrote apps/bench/results/${file}.md and ${file}.svg`)
  const content = `${stamp}.\n\n${table}\n\n${scaleDetails(report)}`
  // A run of one backend has its own table in apps/bench/README.md where it has markers (disk's scale
  // run takes minutes of its own); the shared table is a full run's.
  if (!quick && onlyBackend && updateReadme(benchReadme, `scale-${onlyBackend}`, content)) {
    benchReadmeChanged = true
    console.log(`updated the ${onlyBackend} scale tables in apps/bench/README.md`)
  }
  if (!quick && !onlyBackend) {
    if (updateReadme(benchReadme, 'scale', content)) {
      benchReadmeChanged = true
      console.log('updated the scale tables in apps/bench/README.md')
    }
    if (updateReadme(readme, 'scale', content)) {
      rootReadmeChanged = true
      console.log('updated the scale tables in the root README')
    }
  }
}

// The freshness section: a hit with never-die, stale-while-revalidate or early refresh on against a plain
// hit, a stale-serving hit against a fresh one (memory and Redis); then the stampede row (Redis).
if (runs('freshness') && !filter && (!onlyBackend || onlyBackend === 'memory' || onlyBackend === 'redis')) {
  const started = performance.now()
  const inFlight = 64
  console.log('\nFreshness: the hit with freshness options on, against a plain hit')
  const hits: FreshnessResult[] = []
  const lane = async (subjects: FreshnessSubject[]) => {
    try {
      for (const name of new Set(subjects.map((s) => s.lane))) {
        process.stdout.write(`  measuring ${name} ...`)
        const measured = await measureLane(
          subjects.filter((s) => s.lane === name),
          options,
        )
        hits.push(...measured)
        process.stdout.write(` ${measured.map((r) => `${r.option} ${r.hitNs.toFixed(0)} ns`).join(', ')}\n`)
        globalThis.gc?.()
      }
    } finally {
      for (const subject of subjects) await subject.close()
    }
  }
  if (!onlyBackend || onlyBackend === 'memory') await lane(await memoryFreshnessSubjects())
  let stampede: StampedeMode[] | undefined
  const stampedeRounds = quick ? 2 : 5
  if (!onlyBackend || onlyBackend === 'redis') {
    let freshRedis: Awaited<ReturnType<typeof benchRedis>> | undefined
    try {
      freshRedis = await benchRedis()
      await lane(await redisFreshnessSubjects(freshRedis.url, inFlight))
      console.log(`\nStampede: ${stampedeDescription(stampedeRounds)}`)
      stampede = await runStampede(freshRedis.url, stampedeRounds)
    } catch (error) {
      console.error(`  Redis: skipped — ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = 1
    } finally {
      await freshRedis?.stop()
    }
  }
  const stamp = `${new Date().toISOString().slice(0, 10)} — ${machineDescription()}`
  const table = freshnessTable(hits)
  const ratios = targetsTable(freshnessTargets(hits))
  console.log(`\n${table}\n\n${ratios}\n\n${staleCheck(hits)}`)
  if (stampede !== undefined) console.log(`\n${stampedeTable(stampede)}`)
  console.log(`\nfreshness run: ${((performance.now() - started) / 1000).toFixed(0)} s`)
  mkdirSync(results, { recursive: true })
  // A run of one backend keeps its own files, so it does not replace the run of both.
  const file = onlyBackend === undefined ? 'freshness' : `freshness-${onlyBackend}`
  writeFileSync(join(results, `${file}.md`), freshnessMarkdown(hits, stamp, quick, inFlight))
  writeFileSync(join(results, `${file}.svg`), freshnessSvg(hits, stamp))
  console.log(`wrote apps/bench/results/${file}.md and ${file}.svg`)
  if (stampede !== undefined) {
    writeFileSync(join(results, 'stampede.md'), stampedeMarkdown(stampede, stamp, stampedeRounds))
    console.log('wrote apps/bench/results/stampede.md')
  }
  if (!quick && !onlyBackend) {
    const content = `${stamp}.\n\n${table}\n\n${ratios}\n\n${staleCheck(hits)}`
    for (const path of [benchReadme, readme]) {
      if (!updateReadme(path, 'freshness', content)) continue
      if (path === readme) rootReadmeChanged = true
      else benchReadmeChanged = true
      console.log(
        `updated the freshness tables in ${path === readme ? 'the root README' : 'apps/bench/README.md'}`,
      )
    }
  }
  if (!quick && stampede !== undefined) {
    const content = `${stamp}.\n\n${stampedeTable(stampede)}`
    for (const path of [benchReadme, readme]) {
      if (!updateReadme(path, 'stampede', content)) continue
      if (path === readme) rootReadmeChanged = true
      else benchReadmeChanged = true
      console.log(
        `updated the stampede table in ${path === readme ? 'the root README' : 'apps/bench/README.md'}`,
      )
    }
  }
}

// The operations section: signed vs unsigned hits (SQLite, disk, Redis), statistics on vs off (memory, SQLite).
if (runs('operations') && !filter && !onlyBackend) {
  const content = await runOperationsSection(options, quick, results)
  for (const path of quick ? [] : [benchReadme, readme]) {
    if (!updateReadme(path, 'operations', content)) continue
    if (path === readme) rootReadmeChanged = true
    else benchReadmeChanged = true
    console.log(
      `updated the operations tables in ${path === readme ? 'the root README' : 'apps/bench/README.md'}`,
    )
  }
}

if (!quick && !filter && rootReadmeChanged && !formatReadme(readme)) {
  console.log('could not run Biome on the root README: run `pnpm format` before committing it')
}
if (benchReadmeChanged && !formatReadme(benchReadme, dirname(readme))) {
  console.log('could not run Biome on apps/bench/README.md: run `pnpm format` before committing it')
}
