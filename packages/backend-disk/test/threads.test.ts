import { Worker } from 'node:worker_threads'
import { createCache } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { DiskBackend } from '../src/index.js'
import { groupFiles, scratch } from './helpers.js'

// The disk backend is thread-safe as well as process-safe: each worker thread has its own DiskBackend
// over one directory. The fixtures import ../dist: `pnpm --filter @rapide/backend-disk build` before
// running these.
const { next } = scratch('threads')

interface Outcome<T> {
  code: number
  message: T | undefined
  error: unknown
  stderr: string
}

/**
 * Starts one worker per entry of `data` on `fixture`, opens the start gate once all are ready (so they
 * race from the same moment), and answers each one's last message, uncaught error, exit code and stderr.
 */
async function runThreads<T>(fixture: string, data: readonly object[]): Promise<Outcome<T>[]> {
  const gate = new Int32Array(new SharedArrayBuffer(4))
  const ready: Promise<void>[] = []
  const outcomes = data.map((workerData) => {
    const worker = new Worker(new URL(`./fixtures/${fixture}`, import.meta.url), {
      workerData: { ...workerData, gate },
      stderr: true,
    })
    let message: T | undefined
    let error: unknown
    let stderr = ''
    worker.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    ready.push(
      new Promise((resolve, reject) => {
        worker.on('message', (m: { ready?: boolean }) => {
          if (m.ready) resolve()
          else message = m as T
        })
        worker.once('exit', () => reject(new Error(`${fixture} ended before it was ready`)))
      }),
    )
    return new Promise<Outcome<T>>((resolve) => {
      worker.on('error', (e) => {
        error = e
      })
      worker.on('exit', (code) => resolve({ code, message, error, stderr }))
    })
  })
  await Promise.all(ready)
  Atomics.store(gate, 0, 1)
  Atomics.notify(gate, 0)
  const done = await Promise.all(outcomes)
  if (process.env.RAPIDE_DEBUG)
    console.log(
      fixture,
      done.map((outcome) => outcome.message),
    )
  return done
}

function expectClean(outcome: Outcome<unknown>): void {
  expect(outcome.error).toBeUndefined()
  expect(outcome.stderr).toBe('')
  expect(outcome.code).toBe(0)
}

interface TornCounts {
  writes: number
  reads: number
  seen: number
  bad: number
  partial: number
  mixed: number
  stale: number
  backwards: number
}

describe('torn reads across threads', () => {
  it('one thread rewrites a key group continuously while three read it: zero partial, mixed or stale reads', async () => {
    const directory = next()
    new DiskBackend({ directory }).close()
    const committed = new Int32Array(new SharedArrayBuffer(4))
    const durationMs = 2000
    const [writer, ...readers] = await runThreads<TornCounts>('thread-torn.mjs', [
      { directory, role: 'writer', durationMs, committed },
      { directory, role: 'reader', durationMs, committed },
      { directory, role: 'reader', durationMs, committed },
      { directory, role: 'reader', durationMs, committed },
    ])
    expectClean(writer!)
    expect(writer!.message!.writes).toBeGreaterThan(100)
    for (const reader of readers) {
      expectClean(reader)
      expect(reader.message).toMatchObject({ bad: 0, partial: 0, mixed: 0, stale: 0, backwards: 0 })
      // It really raced: it saw many of the writer's versions, not one.
      expect(reader.message!.seen).toBeGreaterThan(100)
    }
  }, 20_000)
})

interface StressCounts {
  calls: number
  invalidations: number
  increments: number
  wrong: number
  stale: number
  staleOwn: number
  examples: unknown[]
}

describe('invalidation stress across threads', () => {
  it('4 threads invalidating at every level: each exits 0, none is served a result older than an invalidation that returned before its call, the counter is exact', async () => {
    const directory = next()
    const slots = 3
    const truth = new Int32Array(new SharedArrayBuffer(4 * slots))
    const published = new Int32Array(new SharedArrayBuffer(4 * slots))
    const results = await runThreads<StressCounts>(
      'thread-invalidation.mjs',
      [11, 22, 33, 44].map((seed) => ({ directory, seed, operations: 500, slots, truth, published })),
    )
    for (const outcome of results) {
      expectClean(outcome)
      expect(outcome.message).toMatchObject({ wrong: 0, stale: 0, staleOwn: 0, examples: [] })
      expect(outcome.message!.invalidations).toBeGreaterThan(100)
    }
    const increments = results.reduce((sum, r) => sum + r.message!.increments, 0)
    const cache = createCache({ domainKey: 'THREADS', backend: new DiskBackend({ directory }) })
    expect(cache.get<number>('counter')).toBe(increments)
    await cache.close()
  }, 20_000)
})

describe('counters across threads', () => {
  it('4 threads incrementing at once (backend incr and cache incr): every increment answers a distinct value, the total is exact', async () => {
    const directory = next()
    const increments = 150
    const results = await runThreads<{ raw: number[]; cached: number[] }>(
      'thread-counter.mjs',
      [0, 1, 2, 3].map(() => ({ directory, increments })),
    )
    for (const outcome of results) expectClean(outcome)
    const total = 4 * increments
    const expected = Array.from({ length: total }, (_, i) => i + 1)
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b)
    expect(sorted(results.flatMap((r) => r.message!.raw))).toEqual(expected)
    expect(sorted(results.flatMap((r) => r.message!.cached))).toEqual(expected)
    const backend = new DiskBackend({ directory })
    const cache = createCache({ domainKey: 'THREAD_COUNTER', backend })
    expect(new TextDecoder().decode(backend.get('raw-counter'))).toBe(String(total))
    expect(cache.get<number>('counter')).toBe(total)
    await cache.close()
  }, 20_000)
})

describe('a thread terminated while writing', () => {
  // The lock left by a terminated thread names this process, which runs on: it used to be never broken
  // (every write to that group failed with BackendTimeoutError until the process ended). A worker thread's
  // lock now falls under the age rule (lockTimeout).
  it('its lock is broken after lockTimeout: the group can be written again, and prune() leaves no lock', async () => {
    const directory = next()
    new DiskBackend({ directory }).close()
    const locks = () => groupFiles(directory).filter((file) => file.endsWith('.lock'))
    for (let round = 0; round < 10 && locks().length === 0; round++) {
      const worker = new Worker(new URL('./fixtures/thread-terminated-writer.mjs', import.meta.url), {
        workerData: { directory },
      })
      await new Promise((resolve) => worker.once('message', resolve))
      await new Promise((resolve) => setTimeout(resolve, 100))
      await worker.terminate()
    }
    expect(locks()).toHaveLength(1)
    const backend = new DiskBackend({ directory, pruneInterval: false, lockTimeout: '1s', busyTimeout: '3s' })
    backend.set('large', new Uint8Array([1]), undefined)
    expect([...backend.get('large')!]).toEqual([1])
    backend.prune()
    expect(locks()).toEqual([])
    backend.close()
  }, 20_000)
})
