import { describe, expect, it } from 'vitest'
import { type BackendEntry, createCache } from '../src/index.js'
import { AsyncBytesBackend } from './support/backends.js'

/** The group of a key by the Redis Cluster hash-tag rule; `undefined` when the whole key is hashed. */
function groupOf(key: string): string | undefined {
  const open = key.indexOf('{')
  if (open === -1) return undefined
  const close = key.indexOf('}', open + 1)
  if (close === -1 || close === open + 1) return undefined
  return key.slice(open + 1, close)
}

/** Records every batch the core asks to be atomic. */
class RecordingBackend extends AsyncBytesBackend {
  readonly batches: string[][] = []
  readonly reads: string[][] = []
  override setMany(entries: readonly BackendEntry[]): Promise<void> {
    this.batches.push(entries.map((e) => e.key))
    return super.setMany(entries)
  }
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    this.reads.push([...keys])
    return Promise.all(keys.map((k) => this.get(k)))
  }
}

describe('key groups (partitioned stores)', () => {
  // Names full of the characters that could break the layout: braces, separators, escapes.
  const hostile = ['plain', 'a{b}c', '{x}', 'a:b', '%7B', '}{', 'ü{}']

  for (const domainKey of hostile) {
    it(`function and domain generations share one small group; a result shares its group with its generation (domain ${JSON.stringify(domainKey)})`, async () => {
      const backend = new RecordingBackend()
      const cache = createCache({ domainKey, backend })
      const one = cache.wrap('f{1}', async (o: { id: number }) => o.id)
      const two = cache.wrap('g:}', async (s: string) => s)
      const three = cache.wrap('h', async (n: number) => n)
      await one({ id: 1 })
      await two('{tag}')
      await two('}%7D')
      await three(21) // arguments without any brace still close their group
      // Each hit-path read: the result and its generation in one group, function and domain in another.
      for (const [result, resultGeneration, fn, domain] of backend.reads) {
        expect(groupOf(result!)).toBeDefined()
        expect(result!.endsWith('}')).toBe(true)
        expect(groupOf(result!)).toBe(result!.slice(result!.indexOf('{') + 1, -1))
        expect(groupOf(resultGeneration!)).toBe(groupOf(result!))
        expect(groupOf(fn!)).toBe(groupOf(domain!))
        expect(groupOf(fn!)).not.toBe(groupOf(result!))
      }
      const domainGroup = groupOf(backend.reads[0]![3]!)
      await cache
        .batch()
        .invalidateResult('f{1}', { id: 1 })
        .invalidateResult('g:}', '{tag}')
        .invalidateResult('h', 21)
        .invalidateFunc('f{1}')
        .invalidateDomain()
        .commit()
      expect(backend.batches).toHaveLength(1)
      const batch = backend.batches[0]!
      expect(batch).toHaveLength(5)
      // The domain's group holds only the function and domain generations, whatever the number of
      // arguments: a migration of its slot moves a handful of keys, not the whole domain.
      expect(batch.filter((key) => groupOf(key) === domainGroup)).toHaveLength(2)
      const resultGroups = new Set(backend.reads.map(([result]) => groupOf(result!)))
      const resultInvalidations = batch.filter((k) => groupOf(k) !== domainGroup)
      expect(resultInvalidations).toHaveLength(3)
      for (const key of resultInvalidations) expect(resultGroups.has(groupOf(key))).toBe(true)
    })
  }

  it('two domains have two generation groups, and a keyPrefix with its own tag wins', async () => {
    const a = new RecordingBackend()
    await createCache({ domainKey: 'users', backend: a }).wrap('f', async () => 1)()
    const b = new RecordingBackend()
    await createCache({ domainKey: 'orders', backend: b }).wrap('f', async () => 1)()
    const generations = (backend: RecordingBackend) => backend.reads[0]!.slice(2)
    expect(new Set(generations(a).map(groupOf))).toEqual(new Set(['users']))
    expect(new Set(generations(b).map(groupOf))).toEqual(new Set(['orders']))
    // A user who prefixes with a tag asks for everything of the cache in one group.
    const c = new RecordingBackend()
    await createCache({ domainKey: 'users', keyPrefix: '{tenant-1}:', backend: c }).wrap('f', async () => 1)()
    expect(new Set(c.reads[0]!.map(groupOf))).toEqual(new Set(['tenant-1']))
  })

  it('key-value keys keep the user’s own tag', async () => {
    const backend = new RecordingBackend()
    const cache = createCache({ domainKey: 'kv', backend })
    await cache.setMany({ '{user:1}:name': 'Ada', '{user:1}:email': 'ada@example.com' })
    expect(new Set(backend.batches[0]!.map(groupOf))).toEqual(new Set(['user:1']))
  })

  it('escaped names never forge a group, and distinct domains get distinct groups', async () => {
    const groups: (string | undefined)[] = []
    for (const domainKey of hostile) {
      const backend = new RecordingBackend()
      await createCache({ domainKey, backend }).wrap('{f}', async () => 1)()
      const [, , ...generations] = backend.reads[0]!
      const own = new Set(generations.map(groupOf))
      expect(own.size).toBe(1)
      groups.push([...own][0])
    }
    for (const group of groups) expect(group).toMatch(/^[^{}:]+$/)
    expect(new Set(groups).size).toBe(hostile.length)
  })
})
