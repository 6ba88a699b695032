import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { inspect } from 'node:util'
import { backendFromUrl, createCache, InvalidOptionError, InvalidTtlError, RapideError } from '@rapide/core'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { redisOptionsFromUrl } from '../src/from-url.js'
import { RedisBackend } from '../src/index.js'
import { freePort, RedisServer } from '../src/testing/index.js'

const url = inject('redisUrl')
const clusterUrls = inject('redisClusterUrls')
const binaries = inject('redisBinaries')

/** The password of every URL below: no message, event, `storeId` or error (deeply inspected) may show it. */
const SECRET = 'secret'

const opened: (RedisBackend | Redis | Cluster)[] = []
afterAll(async () => {
  await Promise.all(opened.map((o) => ('storeId' in o ? o.close() : o.disconnect())))
})

function open(address: string): RedisBackend {
  const backend = RedisBackend.fromUrl(address)
  opened.push(backend)
  return backend
}

/** Everything an error carries, causes and properties included, as a log line would show it. */
const everything = (error: unknown) => inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })

/** The error `build` throws: typed (`InvalidOptionError` or `InvalidTtlError`), never showing the password. */
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

/** The error `promise` rejects with, checked never to show the password anywhere. */
async function failure(promise: Promise<unknown>): Promise<RapideError> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(RapideError.isInstance(caught)).toBe(true)
  expect(everything(caught)).not.toContain(SECRET)
  return caught as RapideError
}

describe('RedisBackend.fromUrl: reading the URL', () => {
  it('maps each form to constructor options', () => {
    expect(redisOptionsFromUrl('redis://cache.internal')).toEqual({
      url: 'redis://cache.internal:6379',
      cluster: false,
    })
    expect(
      redisOptionsFromUrl('REDIS://app:secret@cache.internal:6380/2?timeout=1s&circuitBreaker=false'),
    ).toEqual({
      url: 'redis://app:secret@cache.internal:6380/2',
      cluster: false,
      timeout: '1s',
      circuitBreaker: false,
    })
    expect(redisOptionsFromUrl('rediss://:secret@cache.internal/0').url).toBe(
      'rediss://:secret@cache.internal:6379',
    )
    expect(redisOptionsFromUrl('redis://').url).toBe('redis://127.0.0.1:6379')
    expect(redisOptionsFromUrl('redis://[::1]:7000/1').url).toBe('redis://[::1]:7000/1')
    expect(redisOptionsFromUrl('redis://[::1]').url).toBe('redis://[::1]:6379')
    expect(
      redisOptionsFromUrl('redis+cluster://app:secret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/?timeout=2'),
    ).toEqual({
      url: [
        'redis://app:secret@10.0.0.1:7000',
        'redis://app:secret@10.0.0.2:7001',
        'redis://app:secret@[::1]:7002',
      ],
      cluster: true,
      timeout: 2,
    })
    expect(redisOptionsFromUrl('rediss+cluster://h1,h2/0')).toEqual({
      url: ['rediss://h1:6379', 'rediss://h2:6379'],
      cluster: true,
    })
    expect(redisOptionsFromUrl('redis+cluster://h1:7000')).toEqual({
      url: ['redis://h1:7000'],
      cluster: true,
    })
  })

  it('takes a password with any character, encoded or not, and hands it on encoded', () => {
    // Everything up to the last "@" is the credentials: an unencoded / ? # , @ in a password stays in it.
    for (const password of ['p/ss', 'p?ss', 'p#ss', 'p,ss', 'p@ss', 'p:ss', 'p%2Fss']) {
      const options = redisOptionsFromUrl(`redis://app:${password}@h1:7000/1`)
      const decoded = password === 'p%2Fss' ? 'p/ss' : password
      expect(options.url).toBe(`redis://app:${encodeURIComponent(decoded)}@h1:7000/1`)
      expect(decodeURIComponent(new URL(options.url as string).password)).toBe(decoded)
    }
  })

  it('refuses a bad port, host, database, list or credentials without showing the password', () => {
    const cases: [string, RegExp][] = [
      ['redis://app:secret@h:0', /port "0" of h must be a whole number from 1 to 65535/],
      ['redis://app:secret@h:65536', /port "65536"/],
      ['redis://app:secret@h:port', /port "port"/],
      ['redis://app:secret@h:6379:1', /not a host or host:port/],
      ['redis://app:secret@h_!:6379', /"h_!" is not a host name/],
      ['redis://app:secret@[::zz]:6379', /"\[::zz\]" is not an IPv6 address/],
      ['redis://app:secret@::1:6379', /IPv6 address goes in brackets/],
      ['redis://app:secret@h/db2', /database number such as \/2/],
      ['redis://app:secret@h/2/3', /database number/],
      ['redis://app:secret@h1,h2', /several hosts.*redis\+cluster:\/\//],
      ['redis+cluster://app:secret@h1:7000,h2:7001/2', /only database 0.*remove "\/2"/],
      ['redis+cluster://app:secret@h1:7000,,h2:7001', /every seed host/],
      ['redis+cluster://app:secret@', /no host after the credentials/],
      ['redis+cluster://app:secret@h1:7000,h2:99999', /port "99999"/],
      ['redis://app:secret%zz@h', /malformed percent-escape/],
      ['redis://:@h', /empty user and password/],
      ['redis://app:secret@h#frag', /no fragment/],
      ['redis:/app:secret@h', /is not a Redis URL/],
      ['valkey://app:secret@h', /is not a Redis URL/],
    ]
    for (const [address, expected] of cases) {
      const error = refusal(() => RedisBackend.fromUrl(address))
      expect(error.message).toMatch(expected)
    }
    // The user name stays, to tell accounts apart; the password is replaced.
    expect(refusal(() => RedisBackend.fromUrl('redis://app:secret@h:0')).message).toContain('app:***@h:0')
    expect(refusal(() => RedisBackend.fromUrl('redis://secret@h:0')).message).toContain('redis://***@h:0')
  })

  it('refuses unknown, ill-typed and repeated options, and options that belong elsewhere', () => {
    const at = 'redis://app:secret@127.0.0.1:6379'
    const cases: [string, RegExp][] = [
      [`${at}?timout=1s`, /unknown option "timout" \(did you mean "timeout"\?\)/],
      [`${at}?family=6`, /unknown option "family".*known options: timeout, circuitBreaker/],
      [`${at}?timeout=soon`, /timeout.*duration/],
      [`${at}?timeout=false`, /timeout.*duration/],
      [`${at}?circuitBreaker=off`, /circuitBreaker.*or false/],
      [`${at}?timeout=1s&timeout=2s`, /"timeout" is given 2 times/],
      [`${at}?db=2`, /the database is the path of the URL/],
      [`${at}?password=x`, /credentials go before the host/],
      [`${at}?cluster=true`, /redis\+cluster:\/\//],
      [`${at}?tls=true`, /rediss:\/\//],
      [`${at}?onCircuitChange=log`, /is a function/],
      [`${at}?timeout=0`, /timeout/],
      [`${at}?timeout=-1`, /timeout/],
    ]
    for (const [address, expected] of cases) {
      expect(refusal(() => RedisBackend.fromUrl(address)).message).toMatch(expected)
    }
  })

  it('storeId names the server and database, never the credentials', () => {
    const standalone = open('rediss://app:secret@cache.internal:6380/4?circuitBreaker=false')
    expect(standalone.storeId).toBe('rediss://cache.internal:6380/4')
    const v6 = open('redis://app:secret@[::1]:6390')
    expect(v6.storeId).toBe('redis://[::1]:6390/0')
    const cluster = open('redis+cluster://app:secret@h2:7001,h1:7000')
    expect(cluster.storeId).toBe('redis-cluster://h1:7000,h2:7001')
  })

  it('rediss:// turns TLS on; an IPv6 host is a socket address without brackets', () => {
    const tls = open('rediss://cache.internal:6380')
    expect((tls.client as Redis).options.tls).toBeDefined()
    const plain = open('redis://cache.internal:6380')
    expect((plain.client as Redis).options.tls).toBeUndefined()
    const v6 = open('redis://[::1]:6391/2')
    expect((v6.client as Redis).options).toMatchObject({ host: '::1', port: 6391, db: 2 })
    const cluster = open('rediss+cluster://app:secret@[::1]:7000,127.0.0.1:7001')
    const nodes = (cluster.client as unknown as { startupNodes: { host: string; port: number }[] })
      .startupNodes
    expect(nodes.map((node) => `${node.host} ${node.port}`)).toEqual(['::1 7000', '127.0.0.1 7001'])
    expect((cluster.client as Cluster).options.redisOptions).toMatchObject({
      username: 'app',
      password: SECRET,
    })
    expect((cluster.client as Cluster).options.redisOptions?.tls).toBeDefined()
  })
})

describe.runIf(url !== undefined)('RedisBackend.fromUrl against a live Redis', () => {
  const server = new URL(url ?? 'redis://127.0.0.1:6379')
  const hostPort = `${server.hostname}:${server.port || 6379}`

  it('writes to the database the path names', async () => {
    const key = `from-url-${randomUUID()}`
    const backend = open(`redis://${hostPort}/3?timeout=2s`)
    expect(backend.storeId).toBe(`redis://${hostPort}/3`)
    await backend.set(key, new TextEncoder().encode('in db 3'), 60_000)
    const db3 = new Redis(`redis://${hostPort}/3`)
    const db0 = new Redis(`redis://${hostPort}/0`)
    opened.push(db3, db0)
    expect(await db3.get(key)).toBe('in db 3')
    expect(await db0.get(key)).toBeNull()
    expect(Buffer.from((await open(`redis://${hostPort}/3`).get(key))!).toString()).toBe('in db 3')
  })

  it('reads timeout and circuitBreaker as the constructor does', () => {
    const backend = open(`redis://${hostPort}?timeout=1.5&circuitBreaker=false`)
    expect(backend.accelerations().operationTimeoutMs).toBe(1500)
    expect(backend.status.circuit).toBe('closed')
    const defaults = open(`redis://${hostPort}`)
    expect(defaults.accelerations().operationTimeoutMs).toBe(500)
  })

  it('backendFromUrl (core) builds the same backend as RedisBackend.fromUrl', async () => {
    const address = `redis://${hostPort}/5?timeout=2s`
    const viaCore = backendFromUrl(address, { resolveFrom: import.meta.url }) as RedisBackend
    opened.push(viaCore)
    const direct = open(address)
    expect(viaCore.constructor.name).toBe('RedisBackend')
    expect(viaCore.storeId).toBe(direct.storeId)
    expect(viaCore.accelerations().operationTimeoutMs).toBe(2000)
    const key = `from-url-${randomUUID()}`
    await viaCore.set(key, new TextEncoder().encode('shared'), 60_000)
    expect(Buffer.from((await direct.get(key))!).toString()).toBe('shared')
    expect(() => backendFromUrl(`${address}&timout=1`, { resolveFrom: import.meta.url })).toThrow(
      /did you mean "timeout"/,
    )
  })
})

describe.runIf(clusterUrls !== undefined)('RedisBackend.fromUrl against a live Redis Cluster', () => {
  it('redis+cluster:// seeds a cluster client: keys land on their slots, read back by any client', async () => {
    const hosts = clusterUrls!.map((seed) => new URL(seed).host)
    const backend = open(`redis+cluster://${hosts.slice(0, 2).join(',')}?timeout=2s`)
    expect((backend.client as { isCluster?: boolean }).isCluster).toBe(true)
    expect(backend.storeId).toBe(`redis-cluster://${[...hosts.slice(0, 2)].sort().join(',')}`)
    const keys = Array.from({ length: 20 }, (_, i) => `from-url-${i}-${randomUUID()}`)
    for (const key of keys) await backend.set(key, new TextEncoder().encode(key), 60_000)
    const reader = new Cluster([{ host: '127.0.0.1', port: Number(new URL(clusterUrls![2]!).port) }])
    opened.push(reader)
    for (const key of keys) expect(await reader.get(key)).toBe(key)
    const via = backendFromUrl(`redis+cluster://${hosts[2]}`, {
      resolveFrom: import.meta.url,
    }) as RedisBackend
    opened.push(via)
    expect(Buffer.from((await via.get(keys[0]!))!).toString()).toBe(keys[0])
  })
})

describe.runIf(binaries)('credentials on a server that requires them', () => {
  let server: RedisServer
  let admin: Redis
  beforeAll(async () => {
    server = await RedisServer.start()
    admin = new Redis(server.url)
    // A password full of characters a URL must encode; and a named user, as Redis 6 ACLs make them.
    await admin.call('ACL', 'SETUSER', 'app', 'on', `>${SECRET}/p@ss#1`, '~*', '+@all')
    await admin.config('SET', 'requirepass', `${SECRET}?x`)
  })
  afterAll(async () => {
    admin?.disconnect()
    await server?.stop()
  })

  it('connects with the user and password of the URL', async () => {
    const named = open(
      `redis://app:${encodeURIComponent(`${SECRET}/p@ss#1`)}@127.0.0.1:${server.port}?timeout=2s`,
    )
    await named.set('k', new TextEncoder().encode('v'), 60_000)
    expect(Buffer.from((await named.get('k'))!).toString()).toBe('v')
    expect(named.storeId).toBe(`redis://127.0.0.1:${server.port}/0`)
    // The default user's password alone (`:password@`), unencoded "?" included.
    const unnamed = open(`redis://:${SECRET}?x@127.0.0.1:${server.port}?timeout=2s`)
    expect(Buffer.from((await unnamed.get('k'))!).toString()).toBe('v')
  })

  it('a wrong password fails with a typed error that shows no password, in errors and in events', async () => {
    const backend = open(`redis://app:${SECRET}-wrong@127.0.0.1:${server.port}?timeout=300ms`)
    const error = await failure(backend.get('k'))
    expect(error.message.length).toBeGreaterThan(0)
    const cache = createCache({ domainKey: `FROM_URL_${randomUUID()}`, backend })
    const reported: unknown[] = []
    cache.on('error', (event) => reported.push(event))
    const compute = cache.wrap('compute', async (n: number) => n * 2)
    expect(await compute(21)).toBe(42) // onError 'silent': computed, reported
    expect(reported.length).toBeGreaterThan(0)
    expect(everything(reported)).not.toContain(SECRET)
    await cache.close()
  })
})

describe.runIf(binaries)('credentials when nothing answers', () => {
  it('a closed port fails with a typed error that shows no password', async () => {
    const port = await freePort()
    const backend = open(`redis://app:${SECRET}@127.0.0.1:${port}/1?timeout=200ms&circuitBreaker=5s`)
    const first = await failure(backend.get('k'))
    expect(['E_BACKEND_UNAVAILABLE', 'E_BACKEND_TIMEOUT']).toContain(first.code)
    // The circuit is open now: the next call is refused at once, still without the password.
    const second = await failure(backend.set('k', new Uint8Array(1), 1000))
    expect(second.code).toBe('E_BACKEND_UNAVAILABLE')
    const cluster = open(`redis+cluster://app:${SECRET}@127.0.0.1:${port}?timeout=200ms`)
    await failure(cluster.get('k'))
  })
})

describe.runIf(binaries)('an IPv6 host', () => {
  let child: ChildProcess | undefined
  let port = 0
  beforeAll(async () => {
    port = await freePort()
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '::1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    const probe = new Redis({ host: '::1', port, lazyConnect: true, retryStrategy: () => 50 })
    probe.on('error', () => {})
    await probe.connect().catch(() => undefined)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && (await probe.ping().catch(() => '')) !== 'PONG') {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    probe.disconnect()
  })
  afterAll(() => {
    child?.kill('SIGKILL')
  })

  it('redis://[::1]:port/db connects over IPv6', async () => {
    const backend = open(`redis://[::1]:${port}/2?timeout=2s`)
    await backend.set('k', new TextEncoder().encode('over v6'), 60_000)
    expect(Buffer.from((await backend.get('k'))!).toString()).toBe('over v6')
    expect(backend.storeId).toBe(`redis://[::1]:${port}/2`)
    const raw = new Redis({ host: '::1', port, db: 2 })
    opened.push(raw)
    expect(await raw.get('k')).toBe('over v6')
  })
})
