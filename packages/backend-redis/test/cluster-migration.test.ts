import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCache } from '@rapide/core'
import calculateSlot from 'cluster-key-slot'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type CircuitState, RedisBackend } from '../src/index.js'
import { ReadBatcher, ReadFailure } from '../src/read-batcher.js'
import { RedisCluster } from '../src/testing/index.js'

/**
 * A slot migrates (`CLUSTER SETSLOT … MIGRATING/IMPORTING` and `MIGRATE` of part of its keys) while calls
 * run on it and on other slots: only the calls that read the moving slot are affected (item 26).
 * On a cluster of its own: the shared one serves the other test files meanwhile.
 */
const binaries = inject('redisBinaries')

interface SlotRange {
  start: number
  end: number
  port: number
  id: string
}

async function slotMap(port: number): Promise<SlotRange[]> {
  const admin = new Redis({ port, host: '127.0.0.1' })
  try {
    const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][]
    return slots.map(([start, end, [, nodePort, id]]) => ({ start, end, port: nodePort, id }))
  } finally {
    admin.disconnect()
  }
}

describe.skipIf(!binaries)('cluster: a slot migration', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await RedisCluster.start(3)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('only calls reading the moving slot are affected: other domains keep hitting, the circuit stays closed, their invalidations succeed', async () => {
    const circuit: CircuitState[] = []
    const backend = new RedisBackend({
      url: cluster.urls,
      cluster: true,
      onCircuitChange: (state) => circuit.push(state),
    })
    const id = randomUUID()
    const moving = createCache({ domainKey: `moving-${id}`, backend })
    const staying = createCache({ domainKey: `staying-${id}`, backend })
    let computedMoving = 0
    let computedStaying = 0
    const fm = moving.wrap('F', async (n: number) => {
      computedMoving++
      return n * 2
    })
    const fs = staying.wrap('F', async (n: number) => {
      computedStaying++
      return n * 3
    })
    const args = Array.from({ length: 40 }, (_, n) => n)
    await Promise.all(args.flatMap((n) => [fm(n), fs(n)]))

    // The keys each call reads, from the running code (the key layout is the core's business).
    const read: string[][] = []
    const original = backend.client.mgetBuffer.bind(backend.client)
    backend.client.mgetBuffer = ((...keys: string[]) => {
      read.push(keys.flat())
      return original(...keys)
    }) as typeof backend.client.mgetBuffer
    const slotsOf = async (call: () => Promise<unknown>) => {
      read.length = 0
      await call()
      return new Set(read.flat().map((key) => calculateSlot(key)))
    }
    const perSlot = new Map<number, number>()
    for (const n of args.slice(0, 5)) {
      for (const slot of await slotsOf(() => fm(n))) perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1)
    }
    // The slot every hit of the moving domain reads (its generations).
    const slot = [...perSlot].sort((a, b) => b[1] - a[1])[0]![0]
    const stayingArgs: number[] = []
    for (const n of args) if (!(await slotsOf(() => fs(n))).has(slot)) stayingArgs.push(n)
    backend.client.mgetBuffer = original
    expect(stayingArgs.length).toBeGreaterThan(30)

    const map = await slotMap(cluster.servers[0]!.port)
    const source = map.find((r) => r.start <= slot && slot <= r.end)!
    const target = map.find((r) => r.id !== source.id)!
    const from = new Redis({ port: source.port, host: '127.0.0.1' })
    const to = new Redis({ port: target.port, host: '127.0.0.1' })
    try {
      await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id)
      await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id)
      const keys = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, 10_000)) as string[]
      expect(keys.length).toBeGreaterThan(1)
      // Half the keys moved: a multi-key command on the slot now gets TRYAGAIN.
      const half = keys.slice(0, Math.ceil(keys.length / 2))
      await from.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...half)

      const stayingBefore = computedStaying
      const until = Date.now() + 2000
      for (let round = 0; Date.now() < until; round++) {
        // One tick: the reads of both domains are merged, old arguments and new ones.
        const [ms, ss] = await Promise.all([
          Promise.all([...args, 1000 + round].map((n) => fm(n))),
          Promise.all(stayingArgs.map((n) => fs(n))),
        ])
        expect(ms).toEqual([...args, 1000 + round].map((n) => n * 2))
        expect(ss).toEqual(stayingArgs.map((n) => n * 3))
        await sleep(20)
      }
      // Every call of the other domain was a hit, and the circuit never opened.
      expect(computedStaying).toBe(stayingBefore)
      expect(circuit).toEqual([])
      // The other domain's invalidations go through.
      await staying.invalidateFunc('F')
      await fs(stayingArgs[0]!)
      expect(computedStaying).toBe(stayingBefore + 1)
      expect(await fs(stayingArgs[0]!)).toBe(stayingArgs[0]! * 3)
      expect(computedStaying).toBe(stayingBefore + 1)

      // The migration completes: the moving domain caches again.
      const rest = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, 10_000)) as string[]
      if (rest.length > 0) await from.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...rest)
      await to.call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id)
      await from.call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id)
      for (const other of map.filter((r) => r.id !== source.id && r.id !== target.id)) {
        const admin = new Redis({ port: other.port, host: '127.0.0.1' })
        await admin.call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id)
        admin.disconnect()
      }
      await fm(5000)
      const before = computedMoving
      const deadline = Date.now() + 5000
      while (Date.now() < deadline) {
        await fm(5000)
        if (computedMoving === before) break
        await sleep(50)
      }
      expect(await fm(5000)).toBe(10_000)
      expect(computedMoving).toBe(before)
      expect(circuit).toEqual([])
    } finally {
      from.disconnect()
      to.disconnect()
      await backend.close()
    }
  }, 60_000)
})

describe('merged reads: a failing key fails only its readers', () => {
  it('a ReadFailure of one key rejects the calls that read it and serves every other call of the batch', async () => {
    const failure = new Error('TRYAGAIN Multiple keys request during rehashing of slot')
    const batcher = new ReadBatcher(async (keys) =>
      keys.map((key) => (key === 'moving' ? new ReadFailure(failure) : Buffer.from(key))),
    )
    const [a, b, c] = await Promise.allSettled([
      batcher.read(['x', 'y']),
      batcher.read(['y', 'moving']),
      batcher.read(['z']),
    ])
    expect(a).toEqual({ status: 'fulfilled', value: [Buffer.from('x'), Buffer.from('y')] })
    expect(b).toEqual({ status: 'rejected', reason: failure })
    expect(c).toEqual({ status: 'fulfilled', value: [Buffer.from('z')] })
  })
})
