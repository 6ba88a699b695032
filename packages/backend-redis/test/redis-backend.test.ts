import { randomUUID } from 'node:crypto'
import { ClosedError, createCache, InvalidOptionError, reclaimTiming } from '@rapide/core'
import calculateSlot from 'cluster-key-slot'
import { type Cluster, Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it, vi } from 'vitest'
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

/** Redis commands that only read: what is left once they are filtered out changes the store. */
const READ_COMMANDS = new Set(['get', 'mget', 'scan', 'exists', 'ping', 'pttl', 'ttl'])

/**
 * What a cache stored on a cluster, read back from every master, and classified without assuming the
 * core's key layout: a generation is a key whose value (a token) appears in a stored result (its stamp).
 * A result's own generation is the one token no other result carries; the function and domain
 * generations are the tokens several results carry.
 */
async function storedOnCluster(cluster: Cluster, domainKey: string) {
  const masterOf = new Map<string, number>()
  const values = new Map<string, Buffer>()
  const masters = cluster.nodes('master')
  await Promise.all(
    masters.map(async (node, master) => {
      let cursor = '0'
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `*${escapeGlob(domainKey)}*`, 'COUNT', 1000)
        cursor = next
        for (const key of batch) {
          masterOf.set(key, master)
          const value = await node.getBuffer(key)
          if (value !== null) values.set(key, value)
        }
      } while (cursor !== '0')
    }),
  )
  const usedBy = new Map<string, string[]>()
  for (const [generation, token] of values) {
    for (const [result, value] of values) {
      if (result !== generation && value.includes(token))
        usedBy.set(generation, [...(usedBy.get(generation) ?? []), result])
    }
  }
  const results = [...values.keys()].filter((key) => !usedBy.has(key))
  const generationOf = new Map<string, string>()
  const shared: string[] = []
  for (const [generation, users] of usedBy) {
    if (users.length === 1) generationOf.set(users[0]!, generation)
    else shared.push(generation)
  }
  return { masters: masters.length, masterOf, results, generationOf, shared, keys: [...values.keys()] }
}

/** Records each command a client sends with its first key (the transactions of a batch, in order). */
function recordCommands(client: Redis | Cluster): { name: string; key: string }[] {
  const seen: { name: string; key: string }[] = []
  const original = client.sendCommand.bind(client)
  client.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
    seen.push({ name: command.name, key: String(command.args[0] ?? '') })
    return (original as (...a: unknown[]) => unknown)(command, ...rest)
  }) as typeof client.sendCommand
  return seen
}

/** The keys each atomic write of `commands` writes: a `MULTI`…`EXEC`, or a `SET` on its own. */
function transactions(commands: readonly { name: string; key: string }[]): string[][] {
  const out: string[][] = []
  let open: string[] | undefined
  for (const { name, key } of commands) {
    if (name === 'multi') open = []
    else if (name === 'exec') {
      if (open !== undefined) out.push(open)
      open = undefined
    } else if (open !== undefined) open.push(key)
    else if (name === 'set') out.push([key])
  }
  return out
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
    const domainKey = `merge-${randomUUID()}`
    const cache = createCache({ domainKey, backend: b })
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
    // (The invalidation comes from another client: the reclamation that follows it reads through that
    // client, so the reads counted here are the calls' own.)
    const other = createCache({ domainKey, backend: backend({ url }) })
    await f(1)
    await other.invalidateFunc('F')
    await f(1)
    expect(computed).toBe(65)
    expect(commands.names.filter((n) => n === 'mget')).toHaveLength(3)
  })

  it('a function or domain invalidation writes one SET, whatever the number of entries', async () => {
    for (const invalidation of ['function', 'domain'] as const) {
      // A backend of its own each: the first one's background reclamation cannot mix in.
      const b = backend({ url })
      const cache = createCache({ domainKey: `inv-${randomUUID()}`, backend: b })
      const f = cache.wrap('F', async (n: number) => n)
      await Promise.all(Array.from({ length: 300 }, (_, i) => f(i)))
      const commands = countCommands(b.client)
      // Only what is sent before the invalidation resolves is its own: the reclamation of the dead
      // results that follows it (SCAN, MGET, compare-and-delete) runs later, in the background.
      const invalidated = invalidation === 'function' ? cache.invalidateFunc('F') : cache.invalidateDomain()
      let own: string[] = []
      await invalidated.then(() => {
        own = [...commands.names]
      })
      expect(own.filter((name) => !READ_COMMANDS.has(name))).toEqual(['set'])
      expect(await f(1)).toBe(1)
      await cache.close()
    }
  })
})

describe.skipIf(!url)('standalone: space is reclaimed', () => {
  it('after a function invalidation, its dead results and their generations leave Redis', async () => {
    const delay = reclaimTiming.generationDelayMs
    reclaimTiming.generationDelayMs = 0
    try {
      const b = backend({ url })
      const domainKey = `reclaim-${randomUUID()}`
      const cache = createCache({ domainKey, backend: b }) // no TTL
      // Every key of this domain (the name is unique, and holds no glob character).
      const domainKeys = async () => {
        let cursor = '0'
        let count = 0
        do {
          const [next, batch] = await b.client.scan(cursor, 'MATCH', `*${domainKey}*`, 'COUNT', 1000)
          cursor = next
          count += batch.length
        } while (cursor !== '0')
        return count
      }
      const stored: string[] = []
      cache.on('set', ({ key }) => stored.push(key))
      const f = cache.wrap('F', async (n: number) => n)
      for (let n = 0; n < 120; n++) await f(n)
      const exists = () => b.client.exists(...stored)
      expect(await exists()).toBe(120)
      const keysBefore = await domainKeys()
      await cache.invalidateFunc('F')
      await vi.waitFor(async () => expect(await exists()).toBe(0), { timeout: 5000 })
      // The per-argument generations went too: what is left is a handful of keys, not 120 more.
      await vi.waitFor(async () => expect(keysBefore - (await domainKeys())).toBe(240), {
        timeout: 5000,
      })
      await cache.close()
    } finally {
      reclaimTiming.generationDelayMs = delay
    }
  })
})

/**
 * The domain's slot holds its generations and nothing placed there *because of* the domain. A
 * result's group is hashed on its own, so with a random domain key a few results (about 1 in 16384
 * each) may land on the same slot by chance: those are allowed, as result or generation keys whose
 * own group hashes there, and only as the rare exception.
 */
function expectDomainSlotHoldsOnlyItsGenerations(keys: string[], shared: string[], domainSlot: number): void {
  const inDomainSlot = keys.filter((key) => calculateSlot(key) === domainSlot)
  expect(shared.every((key) => inDomainSlot.includes(key))).toBe(true)
  const others = inDomainSlot.filter((key) => !shared.includes(key))
  for (const key of others) expect(key).toMatch(/:[rg]:\{/)
  expect(others.length).toBeLessThanOrEqual(Math.max(4, keys.length / 100))
}

describe.skipIf(!clusterUrls)('cluster: key groups', () => {
  it('results spread over every master, each with its generation; a domain’s group holds its few generations', async () => {
    const b = backend({ url: clusterUrls })
    const domainKey = `spread-${randomUUID()}`
    const cache = createCache({ domainKey, backend: b })
    const f = cache.wrap('F', async (o: { id: number }) => o.id)
    await Promise.all(Array.from({ length: 200 }, (_, id) => f({ id })))
    const cluster = b.client as Cluster
    const stored = await storedOnCluster(cluster, domainKey)
    expect(stored.results).toHaveLength(200)
    expect(stored.results.every((key) => key.includes(':r:'))).toBe(true)
    // Results spread over every master.
    const perMaster = Array.from({ length: stored.masters }, (_, m) =>
      stored.results.filter((key) => stored.masterOf.get(key) === m),
    )
    expect(perMaster.every((keys) => keys.length > 20)).toBe(true)
    // Each result's generation is in its result's slot (so on its master): one MGET reads both.
    for (const result of stored.results) {
      const generation = stored.generationOf.get(result)
      expect(generation).toBeDefined()
      expect(calculateSlot(generation!)).toBe(calculateSlot(result))
      expect(stored.masterOf.get(generation!)).toBe(stored.masterOf.get(result))
    }
    // The function and domain generations: two keys, one slot, which holds nothing else of the domain.
    expect(stored.shared).toHaveLength(2)
    const domainSlot = calculateSlot(stored.shared[0]!)
    expect(stored.shared.map((key) => calculateSlot(key))).toEqual([domainSlot, domainSlot])
    expectDomainSlotHoldsOnlyItsGenerations(stored.keys, stored.shared, domainSlot)
    // Whatever the number of results: 200 more of another function add only its function generation.
    const g = cache.wrap('G', async (o: { id: number }) => -o.id)
    await Promise.all(Array.from({ length: 200 }, (_, id) => g({ id })))
    const more = await storedOnCluster(cluster, domainKey)
    expect(more.results).toHaveLength(400)
    expect(more.shared).toHaveLength(3)
    expectDomainSlotHoldsOnlyItsGenerations(more.keys, more.shared, domainSlot)
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

  it('a batch: its function and domain invalidations are one transaction on the domain’s slot, each result’s one on its own slot', async () => {
    const b = backend({ url: clusterUrls })
    const domainKey = `batch-${randomUUID()}`
    const cache = createCache({ domainKey, backend: b })
    let calls = 0
    const f = cache.wrap('F', async (n: number) => n + 1000 * calls++)
    const g = cache.wrap('G', async (n: number) => n + 1000 * calls++)
    const everything = () => Promise.all([f(1), f(2), f(3), g(1), g(2)])
    await everything()
    const stored = await storedOnCluster(b.client as Cluster, domainKey)
    const resultGenerations = new Set(stored.generationOf.values())
    const domainSlot = calculateSlot(stored.shared[0]!)
    expect(stored.shared.every((key) => calculateSlot(key) === domainSlot)).toBe(true)

    /** Commits `build`'s batch, checks its transactions, and returns the keys of the domain slot's one. */
    const commit = async (
      build: (batch: ReturnType<typeof cache.batch>) => ReturnType<typeof cache.batch>,
      invalidatedResults: number,
    ) => {
      const original = b.client.sendCommand
      const commands = recordCommands(b.client)
      await build(cache.batch()).commit()
      const sent = transactions(commands)
      b.client.sendCommand = original
      // One transaction holds the function and domain generations, all on the domain's slot.
      const onDomainSlot = sent.filter((keys) => keys.some((key) => calculateSlot(key) === domainSlot))
      expect(onDomainSlot).toHaveLength(1)
      expect(onDomainSlot[0]!.every((key) => stored.shared.includes(key))).toBe(true)
      // Each result invalidation is its own transaction, on its result's slot.
      const others = sent.filter((keys) => keys !== onDomainSlot[0])
      expect(others).toHaveLength(invalidatedResults)
      for (const keys of others) {
        expect(keys).toHaveLength(1)
        expect(resultGenerations.has(keys[0]!)).toBe(true)
      }
      return onDomainSlot[0]!
    }

    // Results and a function: those recompute, the others stay hits.
    const first = await commit(
      (batch) => batch.invalidateResult('F', 1).invalidateResult('F', 2).invalidateFunc('G'),
      2,
    )
    expect(first).toHaveLength(1)
    const before = calls
    await everything()
    expect(calls).toBe(before + 4)
    // A result, a function and the domain: every result recomputes.
    const second = await commit(
      (batch) => batch.invalidateResult('F', 3).invalidateFunc('G').invalidateDomain(),
      1,
    )
    expect(second).toHaveLength(2)
    const then = calls
    await everything()
    expect(calls).toBe(then + 5)
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
