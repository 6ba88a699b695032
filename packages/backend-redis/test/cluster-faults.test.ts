import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCache } from '@rapide/core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { RedisBackend } from '../src/index.js'
import { RedisCluster } from '../src/testing/index.js'

/**
 * A master of a Redis Cluster dies (SIGKILL) and comes back. On a cluster of its own: the shared one
 * serves the other test files meanwhile.
 */
const binaries = inject('redisBinaries')
const BOUND_MS = 1000

describe.skipIf(!binaries)('cluster faults', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await RedisCluster.start(3)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('a master killed mid-stream: every call still returns its value in time, and caching resumes after restart', async () => {
    const backend = new RedisBackend({ url: cluster.urls, cluster: true })
    const cache = createCache({ domainKey: `cluster-fault-${randomUUID()}`, backend })
    let computed = 0
    const square = cache.wrap('SQUARE', async (n: number) => {
      computed++
      return n * n
    })
    for (let n = 0; n < 30; n++) expect(await square(n)).toBe(n * n)

    const victim = cluster.servers[1]!
    await victim.kill('SIGKILL')
    const durations: number[] = []
    const until = Date.now() + 3000
    while (Date.now() < until) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, n) => {
          const started = Date.now()
          expect(await square(n)).toBe(n * n)
          durations.push(Date.now() - started)
        }),
      )
      await sleep(20)
    }
    expect(durations.length).toBeGreaterThan(300)
    expect(Math.max(...durations)).toBeLessThan(BOUND_MS)

    await victim.launch()
    await cluster.waitUntilReady()
    // ioredis refreshes its slot map and the circuit closes on its next trial.
    const deadline = Date.now() + 15_000
    for (;;) {
      await square(1000)
      const before = computed
      await square(1000)
      if (computed === before && backend.status.circuit === 'closed') break
      if (Date.now() > deadline) throw new Error(`caching did not resume: ${JSON.stringify(backend.status)}`)
      await sleep(200)
    }
    await cache.close()
    await backend.close()
  }, 60_000)
})
