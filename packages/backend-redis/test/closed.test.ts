import { randomUUID } from 'node:crypto'
import { ClosedError } from '@rapide/core'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { RedisBackend } from '../src/index.js'

const url = inject('redisUrl')
const clusterUrls = inject('redisClusterUrls')

/** Well under the backend's 500 ms bound: a closed backend answers at once, it does not wait it out. */
const PROMPT_MS = 200

/** The operation's settlement, or a distinct failure if it takes longer than {@link PROMPT_MS}. */
async function settleWithin(operation: () => Promise<unknown>): Promise<PromiseSettledResult<unknown>> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${PROMPT_MS} ms`)), PROMPT_MS)
  })
  try {
    return { status: 'fulfilled', value: await Promise.race([operation(), late]) }
  } catch (reason) {
    return { status: 'rejected', reason }
  } finally {
    clearTimeout(timer)
  }
}

/** Every operation of the contract, its optional groups and its accelerations, by name. */
function everyOperation(b: RedisBackend): Record<string, () => Promise<unknown>> {
  const key = `closed-${randomUUID()}`
  const bytes = new Uint8Array([1])
  const entry = { key, value: bytes, ttlMs: 1000 }
  const { setGuarded } = b.accelerations()
  return {
    get: () => b.get(key),
    set: () => b.set(key, bytes, 1000),
    delete: () => b.delete(key),
    getMany: () => b.getMany([key, `${key}:2`]),
    'getMany (no keys)': () => b.getMany([]),
    setMany: () => b.setMany([entry, { ...entry, key: `${key}:2` }]),
    'setMany (no entries)': () => b.setMany([]),
    deleteMany: () => b.deleteMany([key, `${key}:2`]),
    'deleteMany (no keys)': () => b.deleteMany([]),
    setNx: () => b.setNx(key, bytes, 1000),
    deleteIfEquals: () => b.deleteIfEquals(key, bytes),
    incr: () => b.incr(key, 1, 1000),
    expire: () => b.expire(key, 1000),
    keys: async () => {
      for await (const _ of b.keys(key)) {
        // Listing is enough: it must fail before the first key.
      }
    },
    deletePrefix: () => b.deletePrefix(key),
    ping: () => b.ping(),
    'accelerations().setGuarded': () =>
      setGuarded({ ...entry, key: `{${key}}:g` }, { ...entry, key: `{${key}}:r` }),
  }
}

async function expectEveryOperationClosed(b: RedisBackend): Promise<void> {
  const outcomes: Record<string, string> = {}
  for (const [name, operation] of Object.entries(everyOperation(b))) {
    const settled = await settleWithin(operation)
    outcomes[name] =
      settled.status === 'fulfilled'
        ? 'answered'
        : settled.reason instanceof ClosedError
          ? 'ClosedError'
          : String(settled.reason)
  }
  expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((name) => [name, 'ClosedError'])))
}

describe('after close(), every operation rejects with ClosedError at once', () => {
  it.skipIf(!url)('standalone, the backend’s own client', async () => {
    const b = new RedisBackend({ url })
    expect(await b.ping()).toBe(true)
    await b.close()
    await expectEveryOperationClosed(b)
    // Closing again is harmless, and changes nothing.
    await b.close()
    await expectEveryOperationClosed(b)
  })

  it.skipIf(!url)('standalone, a client it was given (which stays open)', async () => {
    const client = new Redis(url!, { autoResendUnfulfilledCommands: false })
    try {
      const b = new RedisBackend({ client })
      expect(await b.ping()).toBe(true)
      await b.close()
      expect(await client.ping()).toBe('PONG')
      await expectEveryOperationClosed(b)
    } finally {
      client.disconnect()
    }
  })

  it.skipIf(!clusterUrls)('cluster', async () => {
    const b = new RedisBackend({ url: clusterUrls, cluster: true })
    expect(await b.ping()).toBe(true)
    await b.close()
    await expectEveryOperationClosed(b)
  })

  it.skipIf(!url)(
    'reads issued before close() in the same tick (one merged read) reject, they do not hang',
    async () => {
      const b = new RedisBackend({ url })
      expect(await b.ping()).toBe(true)
      // Issued before close(), sent at the end of the tick: after it.
      const reads = [b.getMany(['a', 'b']), b.getMany(['b', 'c'])]
      const closing = b.close()
      const settled = await Promise.all(reads.map((read) => settleWithin(() => read)))
      await closing
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected')
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ClosedError)
      }
    },
  )
})
