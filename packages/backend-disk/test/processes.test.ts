import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCache } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { DiskBackend } from '../src/index.js'
import { groupFiles, scratch } from './helpers.js'

// The fixtures import ../dist: `pnpm --filter @rapide/backend-disk build` before running these.
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const { next } = scratch('processes')

function run<T>(
  script: string,
  args: string[],
): Promise<{ code: number | null; message: T | undefined; stderr: string }> {
  return new Promise((resolve) => {
    const child = fork(join(fixtures, script), args, { stdio: 'pipe' })
    let message: T | undefined
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('message', (m) => {
      message = m as T
    })
    child.on('exit', (code) => resolve({ code, message, stderr }))
  })
}

interface TornCounts {
  writes: number
  reads: number
  seen: number
  bad: number
}

describe('torn reads', () => {
  it('one process rewrites a key group continuously while three read it: zero partial or mixed reads', async () => {
    const directory = next()
    new DiskBackend({ directory }).close()
    const duration = '2500'
    const [writer, ...readers] = await Promise.all([
      run<TornCounts>('torn.mjs', [directory, 'writer', duration]),
      run<TornCounts>('torn.mjs', [directory, 'reader', duration]),
      run<TornCounts>('torn.mjs', [directory, 'reader', duration]),
      run<TornCounts>('torn.mjs', [directory, 'reader', duration]),
    ])
    expect(writer!.stderr).toBe('')
    expect(writer!.code).toBe(0)
    expect(writer!.message!.writes).toBeGreaterThan(100)
    for (const reader of readers) {
      expect(reader.stderr).toBe('')
      expect(reader.code).toBe(0)
      expect(reader.message!.seen).toBeGreaterThan(100)
      expect(reader.message!.bad).toBe(0)
    }
  }, 30_000)
})

interface StressCounts {
  calls: number
  invalidations: number
  increments: number
  wrong: number
}

describe('multi-process invalidation stress', () => {
  it('4 processes invalidating at every level: each exits 0, none is served a result older than its own invalidation, the counter is exact', async () => {
    const directory = next()
    const results = await Promise.all(
      [11, 22, 33, 44].map((seed) =>
        run<StressCounts>('invalidation-worker.mjs', [JSON.stringify({ directory, seed, operations: 1500 })]),
      ),
    )
    for (const { code, message, stderr } of results) {
      expect(stderr).toBe('')
      expect(code).toBe(0)
      expect(message!.wrong).toBe(0)
      expect(message!.invalidations).toBeGreaterThan(100)
    }
    const increments = results.reduce((sum, r) => sum + r.message!.increments, 0)
    const cache = createCache({ domainKey: 'STRESS', backend: new DiskBackend({ directory }) })
    expect(cache.get<number>('counter')).toBe(increments)
    await cache.close()
  }, 60_000)
})

describe('crash safety', () => {
  it('a writer killed with SIGKILL mid-write, then prune(): no stray temp file or lock, no corrupt entry served', async () => {
    const directory = next()
    for (let round = 0; round < 3; round++) {
      const child: ChildProcess = fork(join(fixtures, 'crash-writer.mjs'), [directory], { stdio: 'pipe' })
      await new Promise((resolve) => child.once('message', resolve))
      await new Promise((resolve) => setTimeout(resolve, 200 + round * 150))
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    // A temp file of a writer that has ended is removed once a second old.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const reports: unknown[] = []
    const backend = new DiskBackend({ directory, onCorruptFile: (report) => reports.push(report) })
    const report = backend.prune()
    if (process.env.RAPIDE_DEBUG) console.log(report)
    expect(groupFiles(directory).filter((file) => !/[0-9a-f]{64}$/.test(file))).toEqual([])
    const cache = createCache({ domainKey: 'CRASH', backend, onError: 'raise' })
    const errors: unknown[] = []
    cache.on('error', (event) => errors.push(event))
    const describeIt = cache.wrap('DESCRIBE', (n: number) => ({
      n,
      text: `value-${n}`.repeat(1 + ((n * 37) % 4000)),
    }))
    for (let n = 0; n < 3000; n++)
      expect(describeIt(n)).toEqual({ n, text: `value-${n}`.repeat(1 + ((n * 37) % 4000)) })
    expect(cache.get<number>('writes')).toBeGreaterThan(0)
    expect(errors).toEqual([])
    expect(reports).toEqual([])
    await cache.close()
  }, 60_000)
})

describe('a new directory opened by several processes at once', () => {
  it('every process opens it: the marker appears whole, and one being made does not make the directory "not empty"', async () => {
    for (let round = 0; round < 4; round++) {
      const directory = next()
      const children: ChildProcess[] = []
      const outcomes: Promise<{ ok: boolean; error?: string }>[] = []
      const ready: Promise<void>[] = []
      for (let i = 0; i < 6; i++) {
        const child = fork(join(fixtures, 'open-directory.mjs'), [directory], { stdio: 'pipe' })
        children.push(child)
        ready.push(new Promise((resolve) => child.once('message', () => resolve())))
        outcomes.push(
          new Promise((resolve) => {
            child.on('message', (m: { ok?: boolean; error?: string }) => {
              if (m.ok !== undefined) resolve({ ok: m.ok, error: m.error })
            })
          }),
        )
      }
      await Promise.all(ready)
      for (const child of children) child.send('go')
      const results = await Promise.all(outcomes)
      expect(results.filter((r) => !r.ok)).toEqual([])
    }
  }, 30_000)
})
