import { randomUUID } from 'node:crypto'
import { createServer, type Server, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CounterOverflowError,
  createCache,
  InvalidOptionError,
  OutcomeUnknownError,
  RapideError,
} from '@rapide/core'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type CircuitState, RedisBackend } from '../src/index.js'
import { freePort, RedisServer } from '../src/testing/index.js'

/** Items of issue 10 owned by the Redis backend: at-most-once, overflow, callbacks, secrets, storeId. */
const url = inject('redisUrl')
const clusterUrls = inject('redisClusterUrls')
const binaries = inject('redisBinaries')

const opened: { close(): unknown }[] = []
afterAll(async () => {
  await Promise.all(opened.map((o) => o.close()))
})
function backend(options: ConstructorParameters<typeof RedisBackend>[0]): RedisBackend {
  const b = new RedisBackend(options)
  opened.push(b)
  return b
}

/**
 * A TCP proxy in front of Redis that can swallow replies (the server applies a command, its answer
 * never arrives) and then drop the connections: the exact case where ioredis would re-send the command.
 */
class ReplySwallowingProxy {
  swallow = false
  private readonly pairs = new Set<[Socket, Socket]>()

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<ReplySwallowingProxy> {
    const port = await freePort()
    let proxy: ReplySwallowingProxy | undefined
    const server = createServer((client) => {
      const upstream = new Socket()
      upstream.connect(targetPort, '127.0.0.1')
      const pair: [Socket, Socket] = [client, upstream]
      proxy!.pairs.add(pair)
      client.on('data', (data) => upstream.write(data))
      upstream.on('data', (data) => {
        if (!proxy!.swallow) client.write(data)
      })
      const end = () => {
        proxy!.pairs.delete(pair)
        client.destroy()
        upstream.destroy()
      }
      client.on('close', end).on('error', end)
      upstream.on('close', end).on('error', end)
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    proxy = new ReplySwallowingProxy(server, port)
    return proxy
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Drops every connection through the proxy (the clients see their socket close). */
  drop(): void {
    for (const [client, upstream] of this.pairs) {
      client.destroy()
      upstream.destroy()
    }
  }

  close(): Promise<void> {
    this.drop()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

describe.skipIf(!url)('at most once: a dropped connection never applies a command twice (item 6)', () => {
  let proxy: ReplySwallowingProxy
  let raw: Redis
  beforeAll(async () => {
    proxy = await ReplySwallowingProxy.start(Number(new URL(url!).port))
    raw = new Redis(url!)
  })
  afterAll(async () => {
    raw?.disconnect()
    await proxy?.close()
  })

  /** Runs `operation` through the proxy, lets Redis apply it, loses its reply and drops the connection. */
  async function applyThenDrop<T>(
    b: RedisBackend,
    operation: () => Promise<T>,
    applied: () => Promise<boolean>,
  ): Promise<PromiseSettledResult<T>> {
    // Connected first: the handshake's replies must not be swallowed.
    expect(await b.ping()).toBe(true)
    proxy.swallow = true
    const outcome = operation()
    outcome.catch(() => {})
    try {
      await until('Redis to apply the command', applied)
    } finally {
      proxy.swallow = false
      proxy.drop()
    }
    const [settled] = await Promise.allSettled([outcome])
    // Let the client reconnect: a client that re-sends would do it now.
    await until('the reconnection', async () => b.status.connection === 'ready')
    await sleep(300)
    return settled!
  }

  it('incr applied before the connection dropped: OutcomeUnknownError, and counted once', async () => {
    const b = backend({ url: proxy.url, circuitBreaker: false })
    const key = `once-incr-${randomUUID()}`
    expect(await b.incr(key, 1, undefined)).toBe(1)
    const settled = await applyThenDrop(
      b,
      () => b.incr(key, 1, undefined),
      async () => (await raw.get(key)) === '2',
    )
    expect(settled.status).toBe('rejected')
    const error = (settled as PromiseRejectedResult).reason
    expect(error).toBeInstanceOf(OutcomeUnknownError)
    expect((error as RapideError).code).toBe('E_OUTCOME_UNKNOWN')
    expect(await raw.get(key)).toBe('2')
    // The backend works again on the new connection.
    expect(await b.incr(key, 1, undefined)).toBe(3)
  })

  it('setNx (a lock) applied before the connection dropped: never "not acquired" while it holds our token', async () => {
    const b = backend({ url: proxy.url, circuitBreaker: false })
    const key = `once-lock-${randomUUID()}`
    const token = Buffer.from(randomUUID())
    const settled = await applyThenDrop(
      b,
      () => b.setNx(key, token, 10_000),
      async () => (await raw.get(key)) === token.toString(),
    )
    expect(await raw.get(key)).toBe(token.toString())
    if (settled.status === 'fulfilled') expect(settled.value).toBe(true)
    else expect(settled.reason).toBeInstanceOf(OutcomeUnknownError)
    expect(settled.status).toBe('rejected')
  })

  it('deleteIfEquals applied before the connection dropped: OutcomeUnknownError, not "not deleted"', async () => {
    const b = backend({ url: proxy.url, circuitBreaker: false })
    const key = `once-del-${randomUUID()}`
    await raw.set(key, 'mine')
    // The script known to the server first (else its EVALSHA's NOSCRIPT answer is what gets lost).
    expect(await b.deleteIfEquals(`${key}-absent`, Buffer.from('x'))).toBe(false)
    const settled = await applyThenDrop(
      b,
      () => b.deleteIfEquals(key, Buffer.from('mine')),
      async () => (await raw.exists(key)) === 0,
    )
    expect(settled.status).toBe('rejected')
    expect((settled as PromiseRejectedResult).reason).toBeInstanceOf(OutcomeUnknownError)
  })

  it('setGuarded applied before the connection dropped: OutcomeUnknownError', async () => {
    const b = backend({ url: proxy.url, circuitBreaker: false })
    const group = `{once-guarded-${randomUUID()}}`
    const [guard, entry] = [`${group}:guard`, `${group}:entry`]
    // The script known to the server first (else its EVALSHA's NOSCRIPT answer is what gets lost).
    await b
      .accelerations()
      .setGuarded(
        { key: `${group}:warm-guard`, value: Buffer.from('w'), ttlMs: 1000 },
        { key: `${group}:warm-entry`, value: Buffer.from('w'), ttlMs: 1000 },
      )
    const settled = await applyThenDrop(
      b,
      () =>
        b
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('token'), ttlMs: 10_000 },
            { key: entry, value: Buffer.from('value'), ttlMs: 10_000 },
          ),
      async () => (await raw.get(entry)) === 'value',
    )
    expect(settled.status).toBe('rejected')
    expect((settled as PromiseRejectedResult).reason).toBeInstanceOf(OutcomeUnknownError)
    expect(await raw.get(guard)).toBe('token')
  })

  it('a read in flight when the connection drops fails at once (no wait for the time bound), typed', async () => {
    const b = backend({ url: proxy.url, circuitBreaker: false, timeout: '5s' })
    const key = `once-read-${randomUUID()}`
    await b.set(key, Buffer.from('v'), undefined)
    proxy.swallow = true
    const started = Date.now()
    const read = b.get(key)
    read.catch(() => {})
    await sleep(50)
    proxy.swallow = false
    proxy.drop()
    await expect(read).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE' })
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('refuses a client of yours that re-sends unanswered commands, with the options to set', () => {
    const resending = new Redis(url!, { lazyConnect: true })
    expect(() => new RedisBackend({ client: resending })).toThrow(InvalidOptionError)
    expect(() => new RedisBackend({ client: resending })).toThrow(/autoResendUnfulfilledCommands: false/)
    resending.disconnect()
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true })
    expect(() => new RedisBackend({ client: cluster })).toThrow(/retryDelayOnFailover: 0/)
    cluster.disconnect()
    const safe = new Redis(url!, { lazyConnect: true, autoResendUnfulfilledCommands: false })
    expect(() => new RedisBackend({ client: safe })).not.toThrow()
    safe.disconnect()
    const safeCluster = new Cluster([{ host: '127.0.0.1', port: 1 }], {
      lazyConnect: true,
      retryDelayOnFailover: 0,
      redisOptions: { autoResendUnfulfilledCommands: false },
    })
    expect(() => new RedisBackend({ client: safeCluster })).not.toThrow()
    safeCluster.disconnect()
  })
})

describe.skipIf(!url)('counters stay exact (item 11)', () => {
  const MAX = Number.MAX_SAFE_INTEGER

  it('an increment past ±(2^53-1) throws CounterOverflowError and leaves the counter unchanged', async () => {
    const b = backend({ url })
    const raw = new Redis(url!)
    try {
      const key = `overflow-${randomUUID()}`
      expect(await b.incr(key, MAX - 1, 60_000)).toBe(MAX - 1)
      expect(await b.incr(key, 1, undefined)).toBe(MAX)
      const error = await b.incr(key, 1, undefined).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CounterOverflowError)
      expect((error as RapideError).code).toBe('E_COUNTER_OVERFLOW')
      expect(await raw.get(key)).toBe(String(MAX))
      expect(await raw.pttl(key)).toBeGreaterThan(0)
      expect(await b.incr(key, -MAX, undefined)).toBe(0)
      expect(await b.incr(key, -MAX, undefined)).toBe(-MAX)
      await expect(b.incr(key, -1, undefined)).rejects.toBeInstanceOf(CounterOverflowError)
      expect(await raw.get(key)).toBe(String(-MAX))

      // A counter past the safe range already (written by someone else), and Redis's own 64-bit limit.
      const big = `overflow-big-${randomUUID()}`
      await raw.set(big, '9223372036854775806')
      await expect(b.incr(big, 1, undefined)).rejects.toBeInstanceOf(CounterOverflowError)
      await expect(b.incr(big, 5, undefined)).rejects.toBeInstanceOf(CounterOverflowError)
      expect(await raw.get(big)).toBe('9223372036854775806')
      // A key created by a refused increment is not left behind.
      const fresh = `overflow-fresh-${randomUUID()}`
      await expect(b.incr(fresh, MAX + 1, undefined)).rejects.toBeInstanceOf(CounterOverflowError)
      expect(await raw.exists(fresh)).toBe(0)
      // The circuit does not open for it: the server answered.
      expect(b.status.circuit).toBe('closed')
    } finally {
      raw.disconnect()
    }
  })
})

describe.skipIf(!binaries)('user callbacks are isolated (item 15)', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await RedisServer.start()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('a throwing and a rejecting onCircuitChange never crash the process: each is reported as a warning', async () => {
    const crashes: unknown[] = []
    const warnings: Error[] = []
    const onCrash = (error: unknown) => crashes.push(error)
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('uncaughtException', onCrash)
    process.on('unhandledRejection', onCrash)
    process.on('warning', onWarning)
    const seen: CircuitState[] = []
    try {
      const b = backend({
        url: server.url,
        timeout: '100ms',
        circuitBreaker: '200ms',
        onCircuitChange: (state) => {
          seen.push(state)
          if (state === 'open') throw new Error('listener blew up')
          return Promise.reject(new Error('async listener blew up'))
        },
      })
      expect(await b.ping()).toBe(true)
      server.pause(true)
      try {
        // The deadline fails the ping inside a timer, which opens the circuit: the callback throws there.
        await expect(b.ping()).rejects.toMatchObject({ code: 'E_BACKEND_TIMEOUT' })
      } finally {
        server.pause(false)
      }
      await sleep(300)
      // half-open, then closed: the callback returns rejected promises.
      await until('the circuit to close', async () => (await b.ping().catch(() => false)) === true)
      await sleep(50)
      expect(seen).toEqual(['open', 'half-open', 'closed'])
      expect(b.status.circuit).toBe('closed')
      const reported = warnings.filter((w) => w.name === 'RapideCallbackWarning')
      expect(reported).toHaveLength(3)
      expect(reported.map((w) => w.message).join('\n')).toMatch(/onCircuitChange/)
      expect(crashes).toEqual([])
    } finally {
      process.off('uncaughtException', onCrash)
      process.off('unhandledRejection', onCrash)
      process.off('warning', onWarning)
    }
  })
})

describe('credentials never appear in errors or the storeId (item 22)', () => {
  const SECRET = 's3cret'

  /** Every text an error carries: messages, stacks and string properties, down its cause chain. */
  function texts(error: unknown, depth = 0): string {
    if (depth > 5 || error === null || typeof error !== 'object') return String(error)
    const parts = [String(error), (error as Error).stack ?? '']
    for (const value of Object.values(error)) {
      if (typeof value === 'string') parts.push(value)
    }
    const cause = (error as { cause?: unknown }).cause
    if (cause !== undefined) parts.push(texts(cause, depth + 1))
    return parts.join('\n')
  }

  it('bad URLs: the constructor error hides the password', () => {
    for (const bad of [
      `http://user:${SECRET}@127.0.0.1:6379`,
      `redis://user:${SECRET}@[::1`,
      `redis:/user:${SECRET}@host`,
    ]) {
      let error: unknown
      try {
        new RedisBackend({ url: [bad, 'redis://127.0.0.1:1'], cluster: true })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(texts(error)).not.toContain(SECRET)
    }
  })

  it('unreachable servers: connection, timeout and circuit errors hide the password', async () => {
    const closed = await freePort()
    const cases: ConstructorParameters<typeof RedisBackend>[0][] = [
      { url: `redis://user:${SECRET}@127.0.0.1:${closed}` },
      { url: `rediss://:${SECRET}@127.0.0.1:${closed}/3` },
      { url: [`redis://:${SECRET}@127.0.0.1:${closed}`, `redis://:${SECRET}@127.0.0.1:${closed + 1}`] },
    ]
    for (const options of cases) {
      const causes: unknown[] = []
      const b = backend({ ...options, timeout: '200ms', onCircuitChange: (_, cause) => causes.push(cause) })
      expect(b.storeId).not.toContain(SECRET)
      const errors: unknown[] = []
      for (let i = 0; i < 3; i++) errors.push(await b.get('k').catch((e: unknown) => e))
      const cache = createCache({ domainKey: 'secret', backend: b, onError: 'raise' })
      errors.push(await cache.get('k').catch((e: unknown) => e))
      expect(errors.every((e) => RapideError.isInstance(e))).toBe(true)
      for (const error of [...errors, ...causes]) expect(texts(error)).not.toContain(SECRET)
      await b.close()
    }
  })
})

describe('storeId names the store, never credentials (item 7)', () => {
  it('standalone URLs: host, port and database; equal for two instances over one server', () => {
    const a = backend({ url: 'redis://user:pw@127.0.0.1:6390/2' })
    const b = backend({ url: 'redis://127.0.0.1:6390/2' })
    expect(a.storeId).toBe('redis://127.0.0.1:6390/2')
    expect(b.storeId).toBe(a.storeId)
    expect(backend({ url: 'redis://127.0.0.1:6390' }).storeId).toBe('redis://127.0.0.1:6390/0')
    expect(backend({ url: 'redis://127.0.0.1:6390/3' }).storeId).not.toBe(a.storeId)
    expect(backend({ url: 'rediss://:pw@127.0.0.1' }).storeId).toBe('rediss://127.0.0.1:6379/0')
  })

  it('clusters: the sorted seed nodes; a client of yours: from its options, its keyPrefix included', () => {
    const x = backend({ url: ['redis://127.0.0.1:7001', 'redis://:pw@127.0.0.1:7000'] })
    const y = backend({ url: ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001'] })
    expect(x.storeId).toBe('redis-cluster://127.0.0.1:7000,127.0.0.1:7001')
    expect(y.storeId).toBe(x.storeId)
    const client = new Redis('redis://:pw@127.0.0.1:6390/2', {
      lazyConnect: true,
      autoResendUnfulfilledCommands: false,
    })
    expect(new RedisBackend({ client }).storeId).toBe('redis://127.0.0.1:6390/2')
    const prefixed = new Redis('redis://127.0.0.1:6390/2', {
      lazyConnect: true,
      keyPrefix: 'app:',
      autoResendUnfulfilledCommands: false,
    })
    expect(new RedisBackend({ client: prefixed }).storeId).toBe('redis://127.0.0.1:6390/2#keyPrefix=app%3A')
    const cluster = new Cluster(
      [
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7000 },
      ],
      { lazyConnect: true, retryDelayOnFailover: 0, redisOptions: { autoResendUnfulfilledCommands: false } },
    )
    expect(new RedisBackend({ client: cluster }).storeId).toBe(x.storeId)
    client.disconnect()
    prefixed.disconnect()
    cluster.disconnect()
  })
})

describe('unknown options (item 18)', () => {
  it('a misspelt or unknown constructor option is an InvalidOptionError naming it', () => {
    expect(() => new RedisBackend({ url: 'redis://127.0.0.1:1', tiemout: 5 } as never)).toThrow(
      InvalidOptionError,
    )
    expect(() => new RedisBackend({ url: 'redis://127.0.0.1:1', tiemout: 5 } as never)).toThrow(
      /"tiemout".*did you mean "timeout"/,
    )
    expect(() => new RedisBackend({ url: 'redis://127.0.0.1:1', keyPrefix: 'x' } as never)).toThrow(
      /"keyPrefix"/,
    )
  })
})

describe.skipIf(!clusterUrls)('a Cluster client with its own keyPrefix (item 25)', () => {
  for (const [label, prefix] of [
    ['a plain prefix', () => `pfx-${randomUUID()}:`],
    ['a prefix with a hash tag', () => `{tenant-${randomUUID()}}:`],
    ['a prefix with an unclosed brace', () => `a{b-${randomUUID()}:`],
  ] as const) {
    it(`${label}: getMany, setMany, deleteMany, deletePattern and clear work across slots`, async () => {
      const keyPrefix = prefix()
      const client = new Cluster(
        clusterUrls!.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) })),
        { keyPrefix, retryDelayOnFailover: 0, redisOptions: { autoResendUnfulfilledCommands: false } },
      )
      try {
        const b = new RedisBackend({ client })
        const cache = createCache({ domainKey: `prefixed-${randomUUID()}`, backend: b, onError: 'raise' })
        // Enough keys that some share a slot without the prefix and not with it (or the reverse).
        // (Random names: CRC16 spreads sequential ones over distinct slots.)
        const names = Array.from({ length: 1000 }, (_, i) => `key-${i}-${randomUUID().slice(0, 8)}`)
        const entries = Object.fromEntries(names.map((name, i) => [name, i]))
        await cache.setMany(entries)
        expect(await cache.getMany(Object.keys(entries))).toEqual(Object.values(entries))
        expect(await cache.deleteMany([...names.slice(0, 300), 'absent'])).toBe(300)
        expect(await cache.deletePattern('key-9*')).toBe(100) // key-900 … key-999 (key-9, key-9x: deleted above)
        let computed = 0
        const f = cache.wrap('F', async (n: number) => n + computed++)
        await Promise.all(Array.from({ length: 20 }, (_, n) => f(n)))
        await Promise.all(Array.from({ length: 20 }, (_, n) => f(n)))
        expect(computed).toBe(20)
        // Everything is stored under the client's prefix, and clear() removes all of it.
        expect(await cache.clear()).toBeGreaterThanOrEqual(600)
        expect(await cache.getMany(Object.keys(entries))).toEqual(Object.keys(entries).map(() => undefined))
        const left: string[] = []
        for await (const key of b.keys('')) left.push(key)
        expect(left).toEqual([])
      } finally {
        client.disconnect()
      }
    })
  }
})

for (const [label, target] of [
  ['standalone', url],
  ['cluster', clusterUrls],
] as const) {
  describe.skipIf(!target)(
    `setGuarded never replaces an entry when the guard holds another value (${label})`,
    () => {
      const make = () =>
        backend(target === clusterUrls ? { url: target, cluster: true } : { url: target as string })

      it('a late write with a stale token leaves the guard and the entry another write stored', async () => {
        const [newer, older] = [make(), make()]
        // One key group, as the core's result and its generation: one slot on a cluster.
        const group = `{guarded-${randomUUID()}}`
        const [guard, entry] = [`${group}:g`, `${group}:r`]
        await newer
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('new-token'), ttlMs: 60_000 },
            { key: entry, value: Buffer.from('new-value'), ttlMs: 30_000 },
          )
        // A computation that started earlier finishes now, with the token it picked then.
        await older
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('old-token'), ttlMs: 60_000 },
            { key: entry, value: Buffer.from('old-value'), ttlMs: 30_000 },
          )
        expect((await newer.get(guard))?.toString()).toBe('new-token')
        expect((await newer.get(entry))?.toString()).toBe('new-value')
        // Not written with a stale token either when no entry existed.
        const absent = `${group}:absent`
        await older
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('old-token'), ttlMs: 60_000 },
            { key: absent, value: Buffer.from('old-value'), ttlMs: 30_000 },
          )
        expect(await newer.get(absent)).toBeUndefined()
        // The guard's own token lets the entry through (a refreshed result), with the entry's TTL.
        await older
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('new-token'), ttlMs: 60_000 },
            { key: entry, value: Buffer.from('refreshed'), ttlMs: undefined },
          )
        expect((await newer.get(entry))?.toString()).toBe('refreshed')
        expect(await newer.expire(entry, 30_000)).toBe(true)
      })

      it('guard and entry in different slots (not from the core): the same outcome, in two steps', async () => {
        const [newer, older] = [make(), make()]
        const id = randomUUID()
        const [guard, entry] = [`guarded-g-${id}`, `guarded-r-${id}`]
        await newer
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('new-token'), ttlMs: 60_000 },
            { key: entry, value: Buffer.from('new-value'), ttlMs: 30_000 },
          )
        await older
          .accelerations()
          .setGuarded(
            { key: guard, value: Buffer.from('old-token'), ttlMs: 60_000 },
            { key: entry, value: Buffer.from('old-value'), ttlMs: 30_000 },
          )
        expect((await newer.get(guard))?.toString()).toBe('new-token')
        expect((await newer.get(entry))?.toString()).toBe('new-value')
      })
    },
  )
}
