/**
 * The `operations` section: what two production switches cost on the hit path, side by side.
 *
 * - Signed values (`createCache({ sign })`): a hit on SQLite (file), disk and Redis, unsigned against
 *   signed (one HMAC-SHA256 over the storage key and the ~100-byte entry, compared in constant time);
 * - statistics (`stats`, on by default): a hit on memory and SQLite (file) with statistics on and off;
 *   the target is at most 10% more with them on;
 * - and, to back the choice in `packages/core/src/serialization/signing.ts`, the MAC alone three ways:
 *   `createHmac` per call, precomputed inner and outer SHA-256 states copied with `hash.copy()`, and the
 *   core's: two one-shot `crypto.hash` calls over the key's padded blocks (RFC 2104).
 *
 * Every variant of a row has its own cache (and file or folder), warmed with the 1 000 hot keys of
 * `workload.ts`; the variants of a row are measured round by round in turn, so the machine's noise falls
 * on both alike; the median batch is kept.
 */
import { createHash, createHmac, hash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiskBackend } from '@rapide/backend-disk'
import { MemoryBackend } from '@rapide/backend-memory'
import { RedisBackend } from '@rapide/backend-redis'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { type AnyBackend, type Cache, type CacheOptions, createCache } from '@rapide/core'
import type { MeasureOptions } from './measure.js'
import { type BenchRedis, benchRedis } from './redis-server.js'
import { machineDescription, type Target, targetsTable } from './report.js'
import { HOT_KEYS, loadCustomer } from './workload.js'

/** A fixed 44-character key, as `openssl rand -base64 32` prints one. */
const SIGNING_KEY = 'q5YhV1o3cJ8m2Xr0tWzK9bN4sL7eA6dG1fP3uR8yT0c='
/** "At most 10% more than with statistics off", as off time / on time: 1 / 1.1. */
export const AT_MOST_10_PERCENT_MORE = 0.91

export type Comparison = 'signing' | 'statistics'

interface Subject {
  readonly comparison: Comparison
  readonly lane: string
  /** `false`: the baseline (unsigned, statistics off); `true`: the switch on. */
  readonly on: boolean
  readonly async: boolean
  readonly call: (id: number) => unknown
  close(): Promise<void>
}

export interface OperationResult {
  readonly comparison: Comparison
  readonly lane: string
  readonly offNs: number
  readonly onNs: number
}

type Extra = Pick<CacheOptions<AnyBackend>, 'sign' | 'stats'>

/** A warmed wrapped function over `backend`, synchronous where the backend is. */
async function subject(
  comparison: Comparison,
  lane: string,
  on: boolean,
  backend: AnyBackend,
  extra: Extra,
  cleanup: () => void = () => {},
): Promise<Subject> {
  // A domain per variant: the Redis variants share one server, never each other's entries.
  const domainKey = `BENCH_${comparison}_${on ? 'ON' : 'OFF'}`
  const cache = createCache({ domainKey, backend, defaultTtl: '1h', ...extra }) as Cache<AnyBackend>
  const async = !backend.capabilities.sync
  const call = cache.wrap('LOAD_CUSTOMER', loadCustomer) as (id: number) => unknown
  for (let id = 0; id < HOT_KEYS; id++) await call(id)
  return {
    comparison,
    lane,
    on,
    async,
    call,
    close: async () => {
      await cache.close()
      await backend.close?.()
      cleanup()
    },
  }
}

function freshDirectory(name: string): { directory: string; remove: () => void } {
  const directory = mkdtempSync(join(tmpdir(), `rapide-bench-ops-${name}-`))
  return { directory, remove: () => rmSync(directory, { recursive: true, force: true }) }
}

/** The subjects of the section; Redis rows only with `redisUrl`. */
export async function operationSubjects(redisUrl: string | undefined): Promise<Subject[]> {
  const subjects: Subject[] = []
  const sign = { key: SIGNING_KEY }
  for (const on of [false, true]) {
    const sqlite = freshDirectory(`sqlite-${on}`)
    subjects.push(
      await subject(
        'signing',
        'SQLite (file)',
        on,
        new SqliteBackend({ path: join(sqlite.directory, 'cache.db') }),
        on ? { sign } : {},
        sqlite.remove,
      ),
    )
    const disk = freshDirectory(`disk-${on}`)
    subjects.push(
      await subject(
        'signing',
        'disk',
        on,
        new DiskBackend({ directory: disk.directory }),
        on ? { sign } : {},
        disk.remove,
      ),
    )
    if (redisUrl !== undefined) {
      const backend = new RedisBackend({ url: redisUrl })
      subjects.push(await subject('signing', 'Redis', on, backend, on ? { sign } : {}))
    }
    subjects.push(await subject('statistics', 'memory', on, new MemoryBackend(), { stats: on }))
    const stats = freshDirectory(`stats-${on}`)
    subjects.push(
      await subject(
        'statistics',
        'SQLite (file)',
        on,
        new SqliteBackend({ path: join(stats.directory, 'cache.db') }),
        { stats: on },
        stats.remove,
      ),
    )
  }
  return subjects
}

/** A batch of `n` hits of `subject`: time per call (ns). */
async function batch(subject: Subject, n: number, start: number): Promise<number> {
  const began = process.hrtime.bigint()
  if (subject.async) for (let i = 0; i < n; i++) await subject.call((start + i) % HOT_KEYS)
  else for (let i = 0; i < n; i++) subject.call((start + i) % HOT_KEYS)
  return Number(process.hrtime.bigint() - began) / n
}

/**
 * Measures the two variants of every row round by round: each batch sized to about `roundMs`, one warm-up
 * batch each, then `rounds` batches each in turn; the median per variant.
 */
export async function measureOperations(
  subjects: readonly Subject[],
  { rounds, roundMs }: MeasureOptions,
  progress: (line: string) => void = () => {},
): Promise<OperationResult[]> {
  const results: OperationResult[] = []
  const rows = new Map<string, Subject[]>()
  for (const s of subjects) {
    const row = `${s.comparison}|${s.lane}`
    rows.set(row, [...(rows.get(row) ?? []), s])
  }
  for (const pair of rows.values()) {
    const sizes: number[] = []
    for (const s of pair) {
      let n = 64
      while ((await batch(s, n, 0)) * n < roundMs * 1e6 * 0.25 && n < 1 << 24) n *= 2
      sizes.push(n * 4)
      await batch(s, n * 4, 0)
    }
    const samples: number[][] = pair.map(() => [])
    for (let r = 0; r < rounds; r++) {
      for (const [i, s] of pair.entries()) {
        await new Promise((resolve) => setImmediate(resolve))
        samples[i]!.push(await batch(s, sizes[i]!, r * 7))
      }
    }
    const median = (i: number) => samples[i]!.sort((a, b) => a - b)[Math.floor(rounds / 2)]!
    const off = pair.findIndex((s) => !s.on)
    const on = pair.findIndex((s) => s.on)
    const result = {
      comparison: pair[0]!.comparison,
      lane: pair[0]!.lane,
      offNs: median(off),
      onNs: median(on),
    }
    progress(
      `  ${result.comparison}, ${result.lane}: ${fmt(result.offNs)} off, ${fmt(result.onNs)} on (${(result.onNs / result.offNs).toFixed(2)}×)`,
    )
    results.push(result)
  }
  return results
}

export interface MacResult {
  readonly createHmacNs: number
  readonly copiedStatesNs: number
  readonly oneShotNs: number
}

/** The MAC of one ~100-byte entry and its storage key, both ways (median of `rounds`). */
export function measureMac(rounds: number): MacResult {
  const key = Buffer.from(SIGNING_KEY)
  const tag = Buffer.from('rapide signed entry v1\0')
  const storageKey = '|BENCH:r:{LOAD_CUSTOMER:1:[42]}'
  const entry = Buffer.alloc(100, 7)
  const length = Buffer.alloc(4)
  const block = Buffer.alloc(64)
  key.copy(block)
  const inner = createHash('sha256').update(block.map((b) => b ^ 0x36))
  const outer = createHash('sha256').update(block.map((b) => b ^ 0x5c))
  const viaHmac = () => {
    length.writeUInt32BE(Buffer.byteLength(storageKey))
    return createHmac('sha256', key).update(tag).update(length).update(storageKey).update(entry).digest()
  }
  const viaCopies = () => {
    length.writeUInt32BE(Buffer.byteLength(storageKey))
    const digest = inner.copy().update(tag).update(length).update(storageKey).update(entry).digest()
    return outer.copy().update(digest).digest()
  }
  const outerBlock = Buffer.alloc(96)
  Buffer.from(block.map((b) => b ^ 0x5c)).copy(outerBlock)
  // As the core does: K ⊕ ipad and the tag written once at the start of the inner message.
  const scratch = Buffer.alloc(1024)
  Buffer.from(block.map((b) => b ^ 0x36)).copy(scratch)
  tag.copy(scratch, 64)
  const keyAt = 64 + tag.length + 4
  const viaOneShot = () => {
    const keyLength = scratch.write(storageKey, keyAt, 'utf8')
    scratch.writeUInt32BE(keyLength, keyAt - 4)
    entry.copy(scratch, keyAt + keyLength)
    hash('sha256', scratch.subarray(0, keyAt + keyLength + entry.length), 'buffer').copy(outerBlock, 64)
    return hash('sha256', outerBlock, 'buffer')
  }
  if (!viaHmac().equals(viaCopies()) || !viaHmac().equals(viaOneShot())) {
    throw new Error('the MACs differ: the comparison is wrong')
  }
  const time = (f: () => Buffer) => {
    const n = 50_000
    const began = process.hrtime.bigint()
    for (let i = 0; i < n; i++) f()
    return Number(process.hrtime.bigint() - began) / n
  }
  const a: number[] = []
  const b: number[] = []
  const c: number[] = []
  time(viaHmac)
  time(viaCopies)
  time(viaOneShot)
  for (let r = 0; r < rounds; r++) {
    a.push(time(viaHmac))
    b.push(time(viaCopies))
    c.push(time(viaOneShot))
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
  return { createHmacNs: median(a), copiedStatesNs: median(b), oneShotNs: median(c) }
}

const fmt = (ns: number) => (ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`)

/** Signing: one row per backend. */
export function signingTable(results: readonly OperationResult[]): string {
  const lines = ['| backend | unsigned hit | signed hit | signed / unsigned |', '|---|---:|---:|---:|']
  for (const r of results.filter((x) => x.comparison === 'signing')) {
    lines.push(`| ${r.lane} | ${fmt(r.offNs)} | ${fmt(r.onNs)} | ${(r.onNs / r.offNs).toFixed(2)}× |`)
  }
  return lines.join('\n')
}

/** Statistics: one row per backend. */
export function statisticsTable(results: readonly OperationResult[]): string {
  const lines = [
    '| backend | hit, `stats: false` | hit, statistics on (default) | on / off |',
    '|---|---:|---:|---:|',
  ]
  for (const r of results.filter((x) => x.comparison === 'statistics')) {
    lines.push(`| ${r.lane} | ${fmt(r.offNs)} | ${fmt(r.onNs)} | ${(r.onNs / r.offNs).toFixed(2)}× |`)
  }
  return lines.join('\n')
}

/**
 * The targets (MISSION.md, "the price of safety"): off time / on time ≥ 0.91 (at most 10% more), for
 * statistics and for signed values alike. A signed hot key is measured as it runs in production: the
 * signer verifies an entry's MAC once, then compares the same bytes (the MAC alone is the line above).
 */
export function statisticsTargets(results: readonly OperationResult[]): Target[] {
  return results.map((r) => ({
    description:
      r.comparison === 'statistics'
        ? `${r.lane}: hit with statistics on vs off (0.91× = at most 10% more)`
        : `${r.lane}: signed hit vs unsigned (0.91× = at most 10% more)`,
    measured: r.offNs / r.onNs,
    goal: AT_MOST_10_PERCENT_MORE,
  }))
}

export function macLine(mac: MacResult): string {
  const fastest = Math.min(mac.createHmacNs, mac.copiedStatesNs, mac.oneShotNs)
  const verdict =
    fastest === mac.oneShotNs
      ? 'the fastest here'
      : 'not the fastest in this run: rerun on a quiet machine before changing signing.ts'
  return `The MAC alone (100-byte entry): \`createHmac\` per call ${fmt(mac.createHmacNs)}; precomputed SHA-256 states copied with \`hash.copy()\` ${fmt(mac.copiedStatesNs)}; two one-shot \`crypto.hash\` calls over the key's padded blocks (what the core uses) ${fmt(mac.oneShotNs)}, ${verdict}.`
}

export function operationsMarkdown(
  results: readonly OperationResult[],
  mac: MacResult,
  stamp: string,
  quick: boolean,
): string {
  return [
    '# Operations: the hit cost of signed values and of statistics',
    '',
    `${stamp}. ${quick ? 'Quick run.' : 'Full run.'}`,
    '',
    'Workload: see `src/workload.ts` (1 000 hot keys, every call a hit, the synchronous function: it stays synchronous on SQLite and disk). Each variant has its own cache, in its own file, folder or domain; the two variants of a row are measured round by round in turn. Redis: one call in flight.',
    '',
    '## Signed values',
    '',
    signingTable(results),
    '',
    macLine(mac),
    '',
    '## Statistics',
    '',
    statisticsTable(results),
    '',
    targetsTable(statisticsTargets(results)),
    '',
  ].join('\n')
}

/**
 * Runs the whole section (a minute or two): measures, prints, writes `results/operations.md`, and returns
 * what goes between the README's `<!-- bench:operations -->` markers. Redis rows need `redis-server` (or
 * `REDIS_URL`); without it they are left out, said, and the exit code is 1.
 */
export async function runOperationsSection(
  options: MeasureOptions,
  quick: boolean,
  resultsDirectory: string,
): Promise<string> {
  const started = performance.now()
  console.log('\nOperations: the hit cost of signed values and of statistics')
  let redis: BenchRedis | undefined
  try {
    redis = await benchRedis()
  } catch (error) {
    console.error(`  Redis: skipped — ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  }
  let measured: OperationResult[] = []
  const subjects = await operationSubjects(redis?.url)
  try {
    measured = await measureOperations(subjects, options, (line) => console.log(line))
  } finally {
    for (const s of subjects) await s.close()
    await redis?.stop()
  }
  const mac = measureMac(options.rounds)
  const stamp = `${new Date().toISOString().slice(0, 10)} — ${machineDescription()}`
  const content = [
    `${stamp}.`,
    signingTable(measured),
    macLine(mac),
    statisticsTable(measured),
    targetsTable(statisticsTargets(measured)),
  ].join('\n\n')
  console.log(`\n${content}\n\noperations run: ${((performance.now() - started) / 1000).toFixed(0)} s`)
  mkdirSync(resultsDirectory, { recursive: true })
  writeFileSync(join(resultsDirectory, 'operations.md'), operationsMarkdown(measured, mac, stamp, quick))
  console.log('wrote apps/bench/results/operations.md')
  return content
}
