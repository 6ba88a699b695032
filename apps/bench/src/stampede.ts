import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The stampede row: `PROCESSES` processes (`src/stampede-worker.ts`) on one Redis each make
 * `CALLS_PER_PROCESS` concurrent calls for the same cold key at the same moment (the parent sends `go` to
 * all at once), for a computation lasting `COMPUTE_MS`; without the lock, in-process single-flight leaves
 * one computation per process; with `lock: true`, one in all. Rounds alternate between the two, each on a
 * new key.
 */
export const PROCESSES = 4
export const CALLS_PER_PROCESS = 250
/** How long the stampeding computation takes: long enough for every caller to arrive while it runs. */
export const COMPUTE_MS = 50

export type ToWorker =
  | { readonly type: 'go'; readonly id: number; readonly lock: boolean; readonly calls: number }
  | { readonly type: 'close' }

export type FromWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done'
      readonly computations: number
      readonly latenciesMs: readonly number[]
      /** When `go` arrived (ms since the epoch, sub-millisecond): how far apart the processes started. */
      readonly startedAt: number
    }
  | { readonly type: 'failed'; readonly message: string }

export interface StampedeMode {
  readonly lock: boolean
  /** Computations in all processes, one number per round. */
  readonly computations: readonly number[]
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** The largest gap between the first and the last process receiving `go`, over the rounds. */
  readonly spreadMs: number
}

const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'stampede-worker.js')

function nextMessage(worker: ChildProcess): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      worker.off('exit', onExit)
      if (message.type === 'failed') reject(new Error(`stampede worker: ${message.message}`))
      else resolve(message)
    }
    const onExit = (code: number | null) => {
      worker.off('message', onMessage)
      reject(new Error(`stampede worker exited (${code}) before answering`))
    }
    worker.once('message', onMessage)
    worker.once('exit', onExit)
  })
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

/** Runs `rounds` rounds of each mode (alternating) against the Redis at `url`, in fresh processes. */
export async function runStampede(url: string, rounds: number): Promise<StampedeMode[]> {
  const workers = Array.from({ length: PROCESSES }, () =>
    fork(workerPath, [url], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  )
  try {
    await Promise.all(workers.map(nextMessage))
    // Keys no earlier run has stored (a REDIS_URL may be a server that outlives the run).
    const base = Date.now() * 10
    const modes = [false, true].map((lock) => ({
      lock,
      computations: [] as number[],
      latencies: [] as number[],
      spreadMs: 0,
    }))
    for (let round = 0; round < rounds; round++) {
      for (const [m, mode] of modes.entries()) {
        const answers = workers.map(nextMessage)
        const go: ToWorker = {
          type: 'go',
          id: base + round * 2 + m,
          lock: mode.lock,
          calls: CALLS_PER_PROCESS,
        }
        for (const worker of workers) worker.send(go)
        const done = (await Promise.all(answers)).filter((a) => a.type === 'done')
        mode.computations.push(done.reduce((sum, a) => sum + a.computations, 0))
        for (const a of done) mode.latencies.push(...a.latenciesMs)
        const starts = done.map((a) => a.startedAt)
        mode.spreadMs = Math.max(mode.spreadMs, Math.max(...starts) - Math.min(...starts))
      }
    }
    return modes.map((mode) => {
      const sorted = mode.latencies.sort((a, b) => a - b)
      return {
        lock: mode.lock,
        computations: mode.computations,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted.at(-1)!,
        spreadMs: mode.spreadMs,
      }
    })
  } finally {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.exitCode !== null || worker.signalCode !== null) return resolve()
            const timer = setTimeout(() => worker.kill(), 5_000)
            worker.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            worker.send({ type: 'close' } satisfies ToWorker)
          }),
      ),
    )
  }
}

/** Without the lock one computation per process is expected, with it one in all. */
const expected = (lock: boolean) => (lock ? 1 : PROCESSES)

export function stampedeTable(modes: readonly StampedeMode[]): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`
  const lines = [
    '| `lock` | computations per round | expected | met | latency p50 | p99 | max | start spread |',
    '|---|---|---:|:---:|---:|---:|---:|---:|',
  ]
  for (const m of modes) {
    const met = m.computations.every((c) => c <= expected(m.lock))
    lines.push(
      `| ${m.lock ? '`true`' : 'off'} | ${m.computations.join(', ')} | ${expected(m.lock)} | ${met ? 'yes' : '**no**'} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ${ms(m.maxMs)} | ${ms(m.spreadMs)} |`,
    )
  }
  return lines.join('\n')
}

export function stampedeDescription(rounds: number): string {
  return `${(PROCESSES * CALLS_PER_PROCESS).toLocaleString('en-US')} concurrent calls on a cold key: ${PROCESSES} processes × ${CALLS_PER_PROCESS} calls started at once (\`go\` sent to all), a computation of ${COMPUTE_MS} ms, on one Redis; ${rounds} rounds of each mode, alternating, each on a new key. Latency: from \`go\` to each call's answer, over every call of every round (every call waits: none finds a result). Start spread: the largest gap between the first and the last process receiving \`go\`.`
}

export function stampedeMarkdown(modes: readonly StampedeMode[], stamp: string, rounds: number): string {
  return [
    '# Stampede: a cold key called from several processes at once, with and without the lock',
    '',
    `${stamp}.`,
    '',
    stampedeDescription(rounds),
    '',
    stampedeTable(modes),
    '',
  ].join('\n')
}
