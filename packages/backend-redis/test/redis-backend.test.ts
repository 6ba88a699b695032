import { randomUUID } from 'node:crypto'
import { ClosedError, createCache, InvalidOptionError } from '@rapide/core'
import { type Cluster, Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { escapeGlob } from '../src/glob-escape.js'
import { RedisBackend } from '../src/index.js'

const url = inject('redisUrl')
const clusterUrls = inject('redisClusterUrls')

const opened: { close(): unknown }[] = []
afterAll(async () => {
  await Promise.all(opened.map((o) => o.close()))
})
function backend(options: ConstructorParameters<typeof RedisBackend>[0]): RedisBackend {
  const b = new RedisBackend(options)
  opened.push(b)
  return b
}

/** Counts the commands a client sends (each `sendCommand` is one command on the wire). */
function countCommands(client: Redis | Cluster): { readonly count: number; names: string[] } {
  const seen = { count: 0, names: [] as string[] }
  const original = client.sendCommand.bind(client)
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    seen.count++
    seen.names.push(command.name)
    return (original as (...a: unknown[]) => unknown)(command, ...rest)
  }) as typeof client.sendCommand
  return seen
}

describe('options', () => {
  it('refuses a URL that is not redis:// and both url and client', () => {
    expect(() => new RedisBackend({ url: 'http://localhost' })).toThrow(InvalidOptionError)
    const client = new Redis({ lazyConnect: true })
    expect(() => new RedisBackend({ client, url: 'redis://x' } as never)).toThrow(InvalidOptionError)
    client.disconnect()
  })

  it.skipIf(!url)('reads REDIS_URL when given no options', async () => {
    const saved = process.env.REDIS_URL
    process.env.REDIS_URL = url
    try {
      const b = backend(undefined)
      expect(await b.ping()).toBe(true)
      expect((b.client as Redis).options.port).toBe(Number(new URL(url!).port))
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL
      else process.env.REDIS_URL = saved
    }
  })

  it.skipIf(!url)(
    'leaves a client it was given open, closes its own, and refuses calls once closed',
    async () => {
      const client = new Redis(url!, { autoResendUnfulfilledCommands: false })
      const given = new RedisBackend({ client })
      await given.set('rapide:test:given', new Uint8Array([1]), 1000)
      await given.close()
      expect(await client.ping()).toBe('PONG')
      await expect(given.get('rapide:test:given')).rejects.toThrow(ClosedError)
      client.disconnect()
      const own = new RedisBackend({ url })
      await own.ping()
      await own.close()
      await own.close()
      expect(own.status.connection).toBe('end')
    },
  )

  it.skipIf(!url)('honours the client’s keyPrefix, listings and prefix deletes included', async () => {
    const prefix = `kp-${randomUUID()}:`
    const client = new Redis(url!, { keyPrefix: prefix, autoResendUnfulfilledCommands: false })
    const b = new RedisBackend({ client })
    await b.set('ns:a', new Uint8Array([1]), undefined)
    await b.set('ns:b', new Uint8Array([2]), undefined)
    const raw = new Redis(url!)
    expect(await raw.exists(`${prefix}ns:a`)).toBe(1)
    const listed: string[] = []
    for await (const key of b.keys('ns:')) listed.push(key)
    expect(listed.sort()).toEqual(['ns:a', 'ns:b'])
    expect(await b.deletePrefix('ns:')).toBe(2)
    expect(await raw.exists(`${prefix}ns:a`)).toBe(0)
    raw.disconnect()
    client.disconnect()
  })
})

describe.skipIf(!url)('standalone: the hit path', () => {
  it('a hit is one command (MGET of the entry and its three generations)', async () => {
    const b = backend({ url })
    const cache = createCache({ domainKey: `hit-${randomUUID()}`, backend: b })
    const f = cache.wrap('F', async (n: number) => ({ n }))
    await f(1)
    const commands = countCommands(b.client)
    expect(await f(1)).toEqual({ n: 1 })
    expect(commands.names).toEqual(['mget'])
  })

  it('hits issued in one tick are merged into one MGET of their distinct keys, each served its own', async () => {
    const b = backend({ url })
    const cache = createCache({ domainKey: `merge-${randomUUID()}`, backend: b })
    let computed = 0
    const f = cache.wrap('F', async (n: number) => {
      computed++
      return { n }
    })
    await Promise.all(Array.from({ length: 64 }, (_, n) => f(n)))
    const commands = countCommands(b.client)
    const sent: string[][] = []
    const original = b.client.mgetBuffer.bind(b.client)
    b.client.mgetBuffer = ((...keys: string[]) => {
      sent.push(keys.flat())
      return original(...keys)
    }) as typeof b.client.mgetBuffer
    const results = await Promise.all(Array.from({ length: 64 }, (_, n) => f(n % 40)))
    expect(results).toEqual(Array.from({ length: 64 }, (_, n) => ({ n: n % 40 })))
    expect(computed).toBe(64)
    expect(commands.names).toEqual(['mget'])
    // 40 entries, 40 result generations, one function and one domain generation.
    expect(sent).toHaveLength(1)
    expect(sent[0]).toHaveLength(82)
    // Reads of different ticks are not merged: each sees the writes completed before it was issued.
    await f(1)
    await cache.invalidateFunc('F')
    await f(1)
    expect(computed).toBe(65)
    expect(commands.names.filter((n) => n === 'mget')).toHaveLength(3)
  })

  it('a function or domain invalidation is one command, whatever the number of entries', async () => {
    const b = backend({ url })
    const cache = createCache({ domainKey: `inv-${randomUUID()}`, backend: b })
    const f = cache.wrap('F', async (n: number) => n)
    await Promise.all(Array.from({ length: 300 }, (_, i) => f(i)))
    const commands = countCommands(b.client)
    await cache.invalidateFunc('F')
    await cache.invalidateDomain()
    expect(commands.names).toEqual(['set', 'set'])
  })
})

describe.skipIf(!clusterUrls)('cluster: key groups', () => {
  it('results spread over every master, a domain’s generations stay on one', async () => {
    const b = backend({ url: clusterUrls })
    const domainKey = `spread-${randomUUID()}`
    const cache = createCache({ domainKey, backend: b })
    const f = cache.wrap('F', async (o: { id: number }) => o.id)
    await Promise.all(Array.from({ length: 200 }, (_, id) => f({ id })))
    const cluster = b.client as Cluster
    const perMaster = await Promise.all(
      cluster.nodes('master').map(async (node) => {
        const keys: string[] = []
        let cursor = '0'
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', `${escapeGlob(domainKey)}:*`, 'COUNT', 1000)
          cursor = next
          keys.push(...batch)
        } while (cursor !== '0')
        return keys
      }),
    )
    const results = perMaster.map((keys) => keys.filter((k) => k.includes(':r:')).length)
    expect(results.reduce((a, b) => a + b)).toBe(200)
    expect(results.every((n) => n > 20)).toBe(true)
    const generations = perMaster.map((keys) => keys.filter((k) => k.includes(`{${domainKey}}`)).length)
    expect(generations.filter((n) => n > 0)).toHaveLength(1)
  })

  it('a hit is two commands sent together (the result’s slot and the generations’ slot)', async () => {
    const b = backend({ url: clusterUrls })
    const cache = createCache({ domainKey: `hit-${randomUUID()}`, backend: b })
    const f = cache.wrap('F', async (n: number) => n * 2)
    await f(21)
    const commands = countCommands(b.client)
    expect(await f(21)).toBe(42)
    expect(commands.names).toEqual(['mget', 'mget'])
  })

  it('a batch invalidating several functions and results is one transaction, on one slot', async () => {
    const b = backend({ url: clusterUrls })
    const cache = createCache({ domainKey: `batch-${randomUUID()}`, backend: b })
    let calls = 0
    const f = cache.wrap('F', async (n: number) => n + calls++)
    const g = cache.wrap('G', async (n: number) => n + calls++)
    await Promise.all([f(1), f(2), g(1)])
    const commands = countCommands(b.client)
    await cache.batch().invalidateResult('F', 1).invalidateFunc('G').invalidateDomain().commit()
    expect(commands.names.filter((n) => n === 'multi')).toHaveLength(1)
    const before = calls
    await Promise.all([f(1), f(2), g(1)])
    expect(calls).toBe(before + 3)
  })

  it('key-value setMany, getMany and deleteMany work across slots, and with a user tag in one', async () => {
    const b = backend({ url: clusterUrls })
    const cache = createCache({ domainKey: `kv-${randomUUID()}`, backend: b })
    const entries = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key-${i}`, i]))
    await cache.setMany(entries)
    expect(await cache.getMany(Object.keys(entries))).toEqual(Object.values(entries))
    await cache.setMany({ '{user:1}:name': 'Ada', '{user:1}:email': 'ada@example.com' })
    expect(await cache.getMany(['{user:1}:name', '{user:1}:email'])).toEqual(['Ada', 'ada@example.com'])
    expect(await cache.deleteMany([...Object.keys(entries), '{user:1}:name'])).toBe(51)
    expect(await cache.clear()).toBe(1)
  })
})

for (const [label, target] of [
  ['standalone', url],
  ['cluster', clusterUrls],
] as const) {
  describe.skipIf(!target)(`hostile input (${label})`, () => {
    const make = () =>
      backend(target === clusterUrls ? { url: target, cluster: true } : { url: target as string })

    it('keys with glob characters, newlines and braces are stored and deleted literally', async () => {
      const cache = createCache({ domainKey: `hostile-${randomUUID()}`, backend: make() })
      const names = ['a*b', 'a?b', 'a[b]', 'a\\b', 'a\nb', 'a{b}c', '*', '[^a]', 'a\r\n*\\']
      for (const name of names) await cache.set(name, name)
      await cache.set('aXb', 'decoy')
      for (const name of names) expect(await cache.get(name)).toBe(name)
      // A pattern escaping its wildcards matches the literal key only.
      expect(await cache.deletePattern('a\\*b')).toBe(1)
      expect(await cache.get('aXb')).toBe('decoy')
      expect(await cache.deletePattern('a\\?b')).toBe(1)
      expect(await cache.get('aXb')).toBe('decoy')
      expect(await cache.deletePattern('a\\[b\\]')).toBe(1)
      expect(await cache.deletePattern('a?b')).toBe(3) // aXb, a\b and a\nb
      expect(await cache.get('*')).toBe('*')
    })

    it('a domain whose name is a glob pattern clears itself only', async () => {
      const id = randomUUID()
      const wild = createCache({ domainKey: `d*${id}`, backend: make() })
      const other = createCache({ domainKey: `d1${id}`, backend: make() })
      const brackets = createCache({ domainKey: `[d]${id}`, backend: make() })
      await other.set('k', 1)
      await brackets.set('k', 2)
      await wild.set('k', 3)
      expect(await wild.clear()).toBe(1)
      expect(await other.get('k')).toBe(1)
      expect(await brackets.get('k')).toBe(2)
      expect(await brackets.clear()).toBe(1)
      expect(await other.get('k')).toBe(1)
    })

    it('10 KB arguments and values, and arguments full of braces and newlines, cache and invalidate', async () => {
      const cache = createCache({ domainKey: `big-${randomUUID()}`, backend: make() })
      let calls = 0
      const echo = cache.wrap('ECHO', async (text: string, o: object) => {
        calls++
        return `${text.length}:${JSON.stringify(o).length}`
      })
      const big = `${'x{y}*?[\n]\\'.repeat(1000)}`
      const object = { '{': '}', nested: { '*': '\n'.repeat(100) }, blob: 'z'.repeat(10_000) }
      const first = await echo(big, object)
      expect(await echo(big, object)).toBe(first)
      expect(calls).toBe(1)
      expect(await echo(`${big}!`, object)).not.toBe(first)
      await echo.invalidate(big, object)
      await echo(big, object)
      expect(calls).toBe(3)
    })
  })
}

describe.skipIf(!clusterUrls)('cluster: listings on a fresh client', () => {
  it('clear() right after construction waits for the slot map instead of clearing nothing', async () => {
    const domainKey = `fresh-${randomUUID()}`
    const writer = backend({ url: clusterUrls })
    const cache = createCache({ domainKey, backend: writer })
    await cache.setMany(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])))
    const fresh = backend({ url: clusterUrls })
    expect(fresh.status.connection).not.toBe('ready')
    expect(await createCache({ domainKey, backend: fresh }).clear()).toBe(30)
    expect(await cache.get('k1')).toBeUndefined()
  })
})
