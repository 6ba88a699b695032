import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { inspect } from 'node:util'
import { createCache, InvalidOptionError, InvalidTtlError, RapideError } from '@rapide/core'
import { type Cluster, Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { redisOptionsFromUrl } from '../src/from-url.js'
import { RedisBackend } from '../src/index.js'
import { freePort } from '../src/testing/index.js'

// Review of setup by URL (Redis), the findings still open: a URL must open the store it names or be refused, a refused URL must
// leave nothing running, and the password must not show anywhere a person can see it.

const url = inject('redisUrl')
const binaries = inject('redisBinaries')

/** The password of the URLs below: no message, cause, property or printout may show it. */
const SECRET = 'Sup3rSecretPw'

const opened: (RedisBackend | Redis | Cluster)[] = []
afterAll(async () => {
  await Promise.all(opened.map((o) => ('storeId' in o ? o.close() : o.disconnect())))
})

function open(address: string): RedisBackend {
  const backend = RedisBackend.fromUrl(address)
  opened.push(backend)
  return backend
}

/** Everything an error carries, causes and hidden properties included, as a log line would show it. */
const everything = (value: unknown) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })

/** The error `build` throws: a typed refusal never showing the password. */
function refusal(build: () => unknown): RapideError {
  let caught: unknown
  try {
    build()
  } catch (error) {
    caught = error
  }
  expect(RapideError.isInstance(caught)).toBe(true)
  expect([InvalidOptionError, InvalidTtlError].some((type) => caught instanceof type)).toBe(true)
  expect(everything(caught)).not.toContain(SECRET)
  return caught as RapideError
}

/** A TCP listener on loopback that counts the connections made to it and drops each one. */
async function countingListener(): Promise<{ port: number; connections: () => number; close: () => void }> {
  let count = 0
  const server: Server = createServer((socket) => {
    count++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('no port')
  return { port: address.port, connections: () => count, close: () => server.close() }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Redis URL: a password never shows', () => {
  it('a password written as a query option is refused without being quoted', () => {
    // The README sends people who write ?password= to the right place; the refusal must not log it.
    for (const address of [
      `redis://127.0.0.1:6379?password=${SECRET}`,
      `redis://127.0.0.1:6379/0?timeout=1s&password=${SECRET}`,
      `redis://127.0.0.1:0?password=${SECRET}`,
      `redis+cluster://10.0.0.1:7000,10.0.0.2:7000/2?password=${SECRET}`,
    ]) {
      refusal(() => RedisBackend.fromUrl(address))
    }
  })

  it('printing a backend built from a URL (console.log, util.inspect) shows no password', async () => {
    const port = await freePort()
    const backend = open(`redis://app:${SECRET}@127.0.0.1:${port}?timeout=100ms&circuitBreaker=false`)
    expect(inspect(backend)).not.toContain(SECRET)
    expect(inspect(backend, { depth: Number.POSITIVE_INFINITY })).not.toContain(SECRET)
    const cache = createCache({ domainKey: `REVIEW_URL_${randomUUID()}`, backend })
    expect(inspect(cache, { depth: Number.POSITIVE_INFINITY })).not.toContain(SECRET)
    await cache.close()
  })
})

describe('Redis URL: a refused URL leaves nothing running', () => {
  it('an option the constructor refuses does not leave a client reconnecting in the background', async () => {
    const listener = await countingListener()
    try {
      for (const option of ['circuitBreaker=0', 'circuitBreaker=-1', 'circuitBreaker=1e400']) {
        refusal(() => RedisBackend.fromUrl(`redis://app:${SECRET}@127.0.0.1:${listener.port}?${option}`))
      }
      await sleep(1500)
      expect(listener.connections()).toBe(0)
    } finally {
      listener.close()
    }
  })
})

describe('Redis URL: the store it names', () => {
  it('an "@" after the host is not read as the end of the credentials (that would open 127.0.0.1)', () => {
    // Everything up to the last "@" is the user and password: here that swallows the host, and the
    // backend silently opens the default server, database 0.
    expect(() => redisOptionsFromUrl(`redis://app:${SECRET}@cache.internal:6379/2?timeout=1s&x=@`)).toThrow(
      InvalidOptionError,
    )
  })

  it.runIf(url !== undefined && binaries)(
    'a database the server does not have is an error, never a silent write to database 0',
    async () => {
      // The test server has the default 16 databases (0–15): SELECT 16 is refused. ioredis reports that
      // refusal only as a client `error` event (which the backend swallows) and keeps the connection.
      const backend = open(`${url}/16?timeout=1s`)
      const key = `review-url-db-${randomUUID()}`
      const first = await backend.set(key, new Uint8Array([1]), 60_000).then(
        () => 'stored',
        (error: unknown) => error,
      )
      await sleep(100)
      const second = await backend.set(key, new Uint8Array([2]), 60_000).then(
        () => 'stored',
        (error: unknown) => error,
      )
      const admin = new Redis(url!)
      opened.push(admin)
      expect(await admin.exists(key)).toBe(0)
      expect(RapideError.isInstance(first)).toBe(true)
      expect(RapideError.isInstance(second)).toBe(true)
    },
  )
})
