import { inspect } from 'node:util'
import { createCache, InvalidOptionError, InvalidTtlError, RapideError } from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { redisOptionsFromUrl } from '../src/from-url.js'
import { RedisBackend } from '../src/index.js'
import { freePort } from '../src/testing/index.js'

// Review of setup by URL (Redis): a URL must open the store it names or be refused, a refused URL must
// leave nothing running, and the password must not show anywhere a person can see it.

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

describe('Redis URL: what is refused, and how', () => {
  it('refuses out-of-range ports, a path that is not one database number, IPv6 without brackets', () => {
    for (const address of [
      `redis://app:${SECRET}@127.0.0.1:0`,
      `redis://app:${SECRET}@127.0.0.1:65536`,
      `redis://app:${SECRET}@127.0.0.1:6379/0/extra`,
      `redis://app:${SECRET}@127.0.0.1:6379/db1`,
      `redis://app:${SECRET}@127.0.0.1:6379/-1`,
      `redis://app:${SECRET}@::1:6379`,
      `redis://app:${SECRET}@[::1`,
    ]) {
      refusal(() => redisOptionsFromUrl(address))
    }
  })

  it('refuses a seed list with a space or an empty item; duplicate seeds are one store', () => {
    refusal(() => redisOptionsFromUrl(`redis+cluster://app:${SECRET}@10.0.0.1:7000, 10.0.0.2:7000`))
    refusal(() => redisOptionsFromUrl(`redis+cluster://app:${SECRET}@10.0.0.1:7000,,10.0.0.2:7000`))
    refusal(() => redisOptionsFromUrl(`redis+cluster://app:${SECRET}@10.0.0.1:7000,`))
    expect(redisOptionsFromUrl('redis+cluster://10.0.0.1:7000,10.0.0.1:7000,10.0.0.2').url).toEqual([
      'redis://10.0.0.1:7000',
      'redis://10.0.0.1:7000',
      'redis://10.0.0.2:6379',
    ])
  })

  it('refuses a timeout of 0, a negative one, one that overflows to Infinity, and an empty one', () => {
    for (const timeout of ['0', '-1', '1e400', '', 'false']) {
      refusal(() => RedisBackend.fromUrl(`redis://app:${SECRET}@127.0.0.1:6379?timeout=${timeout}`))
    }
  })

  it('hands ioredis the user and a password holding @ : / % ? #, and no query', () => {
    const password = `${SECRET}@:/%?#,`
    const { url: given } = redisOptionsFromUrl(
      `redis://app:${encodeURIComponent(password)}@cache.internal:6380/3?timeout=1s`,
    )
    const parsed = new URL(given as string)
    expect(decodeURIComponent(parsed.password)).toBe(password)
    expect(parsed.username).toBe('app')
    expect(`${parsed.host}${parsed.pathname}${parsed.search}`).toBe('cache.internal:6380/3')
  })

  it('rediss+cluster:// (any case) gives a cluster client whose nodes speak TLS', async () => {
    const [a, b] = [await freePort(), await freePort()]
    const backend = open(`REDISS+CLUSTER://app:${SECRET}@127.0.0.1:${a},127.0.0.1:${b}?timeout=100ms`)
    const client = backend.client as Cluster
    expect(client.isCluster).toBe(true)
    expect(client.options.redisOptions?.tls).toBeDefined()
    expect(client.options.redisOptions?.password).toBe(SECRET)
    // The seeds name one store in any order: storeId lists them sorted.
    const seeds = [`127.0.0.1:${a}`, `127.0.0.1:${b}`].sort()
    expect(backend.storeId).toBe(`redis-cluster://${seeds.join(',')}`)
  })
})

describe('createCache({ backend: url }): a server that cannot be reached', () => {
  it('error events, from the first failure and from the open circuit, show no password', async () => {
    const port = await freePort()
    const cache = createCache({
      domainKey: 'REVIEW_URL_CLOSED',
      backend: `redis://app:${SECRET}@127.0.0.1:${port}/3?timeout=200ms&circuitBreaker=5s`,
    })
    const reported: unknown[] = []
    cache.on('error', (event) => reported.push(event))
    const double = cache.wrap('double', async (n: number) => n * 2)
    expect(await double(1)).toBe(2) // computed although the store is down (onError 'silent')
    expect(await double(2)).toBe(4) // the circuit is open now: refused at once, still reported
    expect(reported.length).toBeGreaterThanOrEqual(2)
    expect(everything(reported)).not.toContain(SECRET)
    await cache.close()
  })
})
