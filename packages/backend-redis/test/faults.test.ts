import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCache, RapideError } from '@rapide/core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type CircuitState, RedisBackend } from '../src/index.js'
import { RedisServer } from '../src/testing/index.js'

/**
 * Fault injection on a server of our own: SIGKILL and restart (a crash), SIGSTOP and SIGCONT (a server
 * or network that stops answering while connections stay open).
 */
const binaries = inject('redisBinaries')
/** What MISSION promises: with Redis dead, a call returns (or fails) within 1 s. */
const BOUND_MS = 1000

interface Outcome {
  readonly startedAt: number
  readonly ms: number
  readonly ok: boolean
  readonly value?: unknown
  readonly error?: unknown
}

describe.skipIf(!binaries)('faults', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await RedisServer.start()
  })
  afterAll(async () => {
    await server?.stop()
  })

  function setUp(onError: 'silent' | 'raise') {
    const circuit: CircuitState[] = []
    const backend = new RedisBackend({ url: server.url, onCircuitChange: (state) => circuit.push(state) })
    const cache = createCache({ domainKey: `fault-${randomUUID()}`, backend, onError })
    let computed = 0
    const double = cache.wrap('DOUBLE', async (n: number) => {
      computed++
      return n * 2
    })
    return { backend, cache, double, circuit, computed: () => computed }
  }

  /** Calls `fn` from `lanes` concurrent loops until `stop()` says so, recording every outcome. */
  function stream(fn: (n: number) => Promise<unknown>, lanes = 8) {
    const outcomes: Outcome[] = []
    let running = true
    const loops = Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; running; i++) {
        const n = (lane * 1000 + i) % 50
        const startedAt = Date.now()
        try {
          const value = await fn(n)
          outcomes.push({ startedAt, ms: Date.now() - startedAt, ok: true, value: [n, value] })
        } catch (error) {
          outcomes.push({ startedAt, ms: Date.now() - startedAt, ok: false, error })
        }
        await sleep(2)
      }
    })
    return {
      outcomes,
      async stop() {
        running = false
        await Promise.all(loops)
      },
    }
  }

  /**
   * Kills the server with SIGKILL while `run` streams calls, keeps it down for `downMs`, restarts it on
   * the same port and waits until the backend works again. Returns the calls started during the outage.
   */
  async function outage(
    backend: RedisBackend,
    run: ReturnType<typeof stream>,
    downMs: number,
  ): Promise<Outcome[]> {
    const killedAt = Date.now()
    await server.kill('SIGKILL')
    await sleep(downMs)
    const restartedAt = Date.now()
    await server.launch()
    await waitForRecovery(backend)
    await sleep(300)
    await run.stop()
    return run.outcomes.filter((o) => o.startedAt >= killedAt && o.startedAt < restartedAt)
  }

  async function waitForRecovery(backend: RedisBackend): Promise<void> {
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (backend.status.connection === 'ready' && (await backend.ping().catch(() => false))) return
      await sleep(50)
    }
    throw new Error(`no recovery: ${JSON.stringify(backend.status)}`)
  }

  it('silent: SIGKILL mid-stream, then restart: every call returns the computed value in time, and caching resumes', async () => {
    const { backend, cache, double, computed } = setUp('silent')
    const run = stream(double)
    await sleep(300)
    const during = await outage(backend, run, 1000)
    expect(during.length).toBeGreaterThan(50)
    for (const outcome of run.outcomes) {
      expect(outcome.ok).toBe(true)
      const [n, value] = outcome.value as [number, number]
      expect(value).toBe(n * 2)
      expect(outcome.ms).toBeLessThan(BOUND_MS)
    }
    // Back to caching: a second read of a fresh key does not compute.
    expect(await double(10_001)).toBe(20_002)
    const before = computed()
    expect(await double(10_001)).toBe(20_002)
    expect(computed()).toBe(before)
    expect(backend.status.circuit).toBe('closed')
    await cache.close()
    await backend.close()
  }, 30_000)

  it('raise: calls during the outage fail fast with typed errors, then succeed again', async () => {
    const { backend, cache, double } = setUp('raise')
    expect(await double(1)).toBe(2)
    const run = stream(double, 4)
    const during = await outage(backend, run, 800)
    expect(during.length).toBeGreaterThan(20)
    for (const outcome of during) {
      expect(outcome.ok).toBe(false)
      expect(RapideError.isInstance(outcome.error)).toBe(true)
      expect(['E_BACKEND_UNAVAILABLE', 'E_BACKEND_TIMEOUT']).toContain((outcome.error as RapideError).code)
      expect(outcome.ms).toBeLessThan(BOUND_MS)
    }
    for (const outcome of run.outcomes) expect(outcome.ms).toBeLessThan(BOUND_MS)
    expect(run.outcomes.at(-1)!.ok).toBe(true)
    expect(await double(2)).toBe(4)
    await cache.close()
    await backend.close()
  }, 30_000)

  it('a frozen server (SIGSTOP) costs one timeout, then the open circuit answers at once; SIGCONT closes it', async () => {
    const { backend, cache, double, circuit } = setUp('silent')
    const errors: string[] = []
    cache.on('error', ({ error }) => errors.push((error as RapideError).code))
    expect(await double(1)).toBe(2)
    server.pause(true)
    try {
      let started = Date.now()
      expect(await double(2)).toBe(4)
      const first = Date.now() - started
      expect(first).toBeGreaterThanOrEqual(backend.accelerations().operationTimeoutMs - 50)
      expect(first).toBeLessThan(BOUND_MS)
      expect(circuit).toEqual(['open'])
      // While the circuit is open, calls do not wait for the server at all.
      started = Date.now()
      for (let n = 3; n < 23; n++) expect(await double(n)).toBe(n * 2)
      expect(Date.now() - started).toBeLessThan(backend.accelerations().operationTimeoutMs)
      expect(errors).toContain('E_BACKEND_TIMEOUT')
      expect(errors).toContain('E_BACKEND_UNAVAILABLE')
    } finally {
      server.pause(false)
    }
    // After the cool-down one trial goes through, succeeds, and the circuit closes.
    await sleep(1100)
    expect(await double(1)).toBe(2)
    expect(circuit).toEqual(['open', 'half-open', 'closed'])
    expect(backend.status.circuit).toBe('closed')
    await cache.close()
    await backend.close()
  }, 30_000)

  it('the bound is configurable: with timeout 150ms and no circuit breaker, each call on a frozen server costs ~150 ms', async () => {
    const backend = new RedisBackend({ url: server.url, timeout: '150ms', circuitBreaker: false })
    const cache = createCache({ domainKey: `bound-${randomUUID()}`, backend })
    const f = cache.wrap('F', async (n: number) => n + 1)
    expect(await f(1)).toBe(2)
    server.pause(true)
    try {
      for (let n = 0; n < 3; n++) {
        const started = Date.now()
        expect(await f(n)).toBe(n + 1)
        const ms = Date.now() - started
        expect(ms).toBeGreaterThanOrEqual(140)
        expect(ms).toBeLessThan(500)
      }
    } finally {
      server.pause(false)
    }
    await cache.close()
    await backend.close()
  }, 30_000)

  it('a server that is down from the start: calls compute at once, then the cache comes up with it', async () => {
    const down = await RedisServer.start()
    await down.kill()
    const backend = new RedisBackend({ url: down.url })
    const cache = createCache({ domainKey: 'down', backend })
    let computed = 0
    const f = cache.wrap('F', async (n: number) => {
      computed++
      return n
    })
    const started = Date.now()
    expect(await f(1)).toBe(1)
    expect(await f(1)).toBe(1)
    expect(Date.now() - started).toBeLessThan(BOUND_MS)
    await down.launch()
    await waitForRecovery(backend)
    await sleep(1100)
    await f(5)
    await f(5)
    expect(computed).toBe(3)
    await cache.close()
    await backend.close()
    await down.stop()
  }, 30_000)
})
