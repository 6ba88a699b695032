import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { createCache } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { SqliteBackend } from '../src/index.js'

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const directory = mkdtempSync(join(tmpdir(), 'rapide-sqlite-processes-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

interface Counts {
  calls: number
  invalidations: number
  increments: number
  wrong: number
}

function runProcess(
  params: object,
): Promise<{ code: number | null; counts: Counts | undefined; stderr: string }> {
  return new Promise((resolve) => {
    const child = fork(join(fixtures, 'stress-worker.mjs'), [JSON.stringify(params)], { stdio: 'pipe' })
    let counts: Counts | undefined
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('message', (message) => {
      counts = message as Counts
    })
    child.on('exit', (code) => resolve({ code, counts, stderr }))
  })
}

function runThread(params: object): Promise<Counts> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(fixtures, 'stress-worker.mjs'), { workerData: params })
    let counts: Counts | undefined
    worker.on('message', (message) => {
      counts = message as Counts
    })
    worker.on('error', reject)
    worker.on('exit', (code) =>
      code === 0 && counts ? resolve(counts) : reject(new Error(`worker exited ${code}`)),
    )
  })
}

function counterIn(path: string): number | undefined {
  const cache = createCache({ domainKey: 'STRESS', backend: new SqliteBackend({ path }) })
  const value = cache.get<number>('counter')
  cache.close()
  return value
}

describe('stress: several writers on one file', () => {
  it('4 processes: every one exits 0, nothing is wrong, no SQLITE_BUSY escapes, the counter is exact', async () => {
    const path = join(directory, 'stress-processes.sqlite')
    const operations = 8000
    const results = await Promise.all([11, 22, 33, 44].map((seed) => runProcess({ path, seed, operations })))
    for (const { code, counts, stderr } of results) {
      expect(stderr).not.toMatch(/SQLITE_BUSY|Error/)
      expect(code).toBe(0)
      expect(counts?.wrong).toBe(0)
    }
    const increments = results.reduce((sum, r) => sum + (r.counts?.increments ?? 0), 0)
    expect(increments).toBeGreaterThan(1000)
    expect(counterIn(path)).toBe(increments)
  }, 120_000)

  it('4 worker threads: the same, in one process', async () => {
    const path = join(directory, 'stress-threads.sqlite')
    const results = await Promise.all([5, 6, 7, 8].map((seed) => runThread({ path, seed, operations: 3000 })))
    for (const counts of results) expect(counts.wrong).toBe(0)
    const increments = results.reduce((sum, r) => sum + r.increments, 0)
    expect(counterIn(path)).toBe(increments)
  }, 120_000)
})

describe('another process', () => {
  it('sees an invalidation made in this one on its very next call, at every level', async () => {
    const path = join(directory, 'peers.sqlite')
    const cache = createCache({ domainKey: 'PEERS', backend: new SqliteBackend({ path }), onError: 'raise' })
    let computations = 0
    const readTruth = cache.wrap('READ_TRUTH', (id: number) => {
      computations++
      return cache.get<number>(`truth:${id}`)
    })
    const peer = fork(join(fixtures, 'peer.mjs'), [path])
    const replies: unknown[] = []
    const next = () =>
      new Promise<unknown>((resolve) => {
        peer.once('message', resolve)
      })
    const ask = (command: object) => {
      const reply = next()
      peer.send(command)
      return reply
    }
    try {
      replies.push(await next())
      let value = 0
      for (const level of ['result', 'function', 'domain']) {
        value++
        await ask({ id: 1, value, level })
        expect(readTruth(1)).toBe(value)
        expect(readTruth(1)).toBe(value) // and cached again
      }
      expect(computations).toBe(3)
    } finally {
      peer.kill()
      cache.close()
    }
    expect(replies).toEqual([{ ready: true }])
  }, 30_000)
})

describe('a file deleted under a running process', () => {
  it('is followed: an invalidation another process makes in the new file is seen within fileCheckInterval', async () => {
    const path = join(directory, 'deleted.sqlite')
    const warnings: string[] = []
    const onWarning = (warning: Error & { code?: string }) => warnings.push(String(warning.code))
    process.on('warning', onWarning)
    const backend = new SqliteBackend({ path, fileCheckInterval: '100ms' })
    const cache = createCache({ domainKey: 'PEERS', backend, onError: 'raise' })
    let computations = 0
    const readTruth = cache.wrap('READ_TRUTH', (id: number) => {
      computations++
      return cache.get<number>(`truth:${id}`)
    })
    const peer = fork(join(fixtures, 'peer.mjs'), [path], { stdio: 'pipe' })
    const next = () =>
      new Promise<unknown>((resolve) => {
        peer.once('message', resolve)
      })
    try {
      await next()
      const ready = next()
      peer.send({ id: 1, value: 1, level: 'result' })
      await ready
      expect(readTruth(1)).toBe(1)
      expect(readTruth(1)).toBe(1)
      // rm -rf node_modules/.cache while both processes run; the peer then writes and invalidates.
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
      const done = next()
      peer.send({ id: 1, value: 2, level: 'function' })
      await done
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect(readTruth(1)).toBe(2)
      expect(computations).toBe(2)
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toContain('RAPIDE_SQLITE_REOPENED')
    } finally {
      process.off('warning', onWarning)
      peer.kill()
      await cache.close()
      backend.close()
    }
  }, 30_000)
})

describe('opening', () => {
  it('six processes opening one new file at the same moment all succeed (the switch to WAL is retried)', async () => {
    let failures = 0
    let stderr = ''
    for (let round = 0; round < 10; round++) {
      const path = join(directory, `open-at-once-${round}.sqlite`)
      const codes = await Promise.all(
        Array.from(
          { length: 6 },
          () =>
            new Promise<number | null>((resolve) => {
              const child = fork(join(fixtures, 'open-at-once.mjs'), [path], { stdio: 'pipe' })
              child.stderr?.on('data', (chunk: Buffer) => {
                stderr += chunk.toString()
              })
              child.on('exit', resolve)
            }),
        ),
      )
      failures += codes.filter((code) => code !== 0).length
      const backend = new SqliteBackend({ path })
      expect(backend.keys('opened-by:')).toHaveLength(6)
      backend.close()
    }
    expect(stderr).toBe('')
    expect(failures).toBe(0)
  }, 60_000)
})

describe('crash safety', () => {
  it('a writer killed with SIGKILL mid-write leaves a file that opens and serves correct data', async () => {
    const path = join(directory, 'crash.sqlite')
    for (let round = 0; round < 3; round++) {
      const child: ChildProcess = fork(join(fixtures, 'crash-writer.mjs'), [path], { stdio: 'pipe' })
      await new Promise((resolve) => child.once('message', resolve))
      await new Promise((resolve) => setTimeout(resolve, 150 + round * 100))
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    const backend = new SqliteBackend({ path })
    expect(backend.database.pragma('integrity_check', { simple: true })).toBe('ok')
    const cache = createCache({ domainKey: 'CRASH', backend, onError: 'raise' })
    const errors: unknown[] = []
    cache.on('error', (event) => errors.push(event))
    const describe = cache.wrap('DESCRIBE', (n: number) => ({ n, text: `value-${n}`.repeat(1 + (n % 50)) }))
    for (let n = 0; n < 2000; n++) expect(describe(n)).toEqual({ n, text: `value-${n}`.repeat(1 + (n % 50)) })
    const writes = cache.get<number>('writes')
    expect(writes).toBeGreaterThan(0)
    expect(errors).toEqual([])
    cache.close()
  }, 60_000)
})
