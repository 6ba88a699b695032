import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SqliteBackend } from '../src/index.js'
import { guardKeyOf, guardRowPrefix, locate, Slot } from '../src/key-slots.js'

const directory = mkdtempSync(join(tmpdir(), 'rapide-sqlite-slots-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
let files = 0
const fresh = () => new SqliteBackend({ path: join(directory, `db-${files++}.sqlite`), sweepInterval: false })
const bytes = (text: string) => new Uint8Array(Buffer.from(text))
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : Buffer.from(value).toString()
const rows = (backend: SqliteBackend) =>
  backend.database.prepare('SELECT count(*) FROM rapide_cache').pluck().get() as number

const result = (n: number) => `app|SHOP:r:{F:1:n${n}}`
const generation = (n: number) => `app|SHOP:g:{F:1:n${n}}`

describe('key slots', () => {
  it('a result generation is the guard slot of its result row; every other key is a main slot', () => {
    expect(locate(generation(1))).toEqual({ row: result(1), slot: Slot.Guard })
    expect(guardKeyOf(result(1))).toBe(generation(1))
    for (const key of [
      result(1),
      'app|SHOP:{SHOP}:@g',
      'app|SHOP:c:{F:1:n1}',
      'g:{x}',
      'a:g:{x}',
      '',
      'app|S:g{x}',
    ])
      expect(locate(key)).toEqual({ row: key, slot: Slot.Main })
    // The domain part escapes ':' (so the first ':' after '|' ends it): a later ':g:{' is not a pair.
    expect(locate('app|SHOP:k:1:g:{x}')).toEqual({ row: 'app|SHOP:k:1:g:{x}', slot: Slot.Main })
  })

  it('maps a prefix to the rows of the guard keys under it, exactly', () => {
    expect(guardRowPrefix('app|SHOP:g:{F:1:')).toBe('app|SHOP:r:{F:1:')
    expect(guardRowPrefix('app|SHOP:g:')).toBe('app|SHOP:r:')
    expect(guardRowPrefix('app|SHOP:g')).toBe('app|SHOP:r')
    expect(guardRowPrefix('app|SHOP:')).toBe('app|SHOP:')
    expect(guardRowPrefix('app|SH')).toBe('app|SH')
    expect(guardRowPrefix('')).toBe('')
    expect(guardRowPrefix('app|SHOP:r:')).toBeUndefined()
    expect(guardRowPrefix('app|SHOP:g:x')).toBeUndefined()
  })

  it('a miss writes one row; the generation reads, lists, expires and deletes as its own key', () => {
    const backend = fresh()
    const { setGuarded } = backend.accelerations()
    setGuarded(
      { key: generation(1), value: bytes('token'), ttlMs: 60_000, bookkeeping: true },
      { key: result(1), value: bytes('value'), ttlMs: 30_000 },
    )
    expect(rows(backend)).toBe(1)
    expect(backend.getMany([result(1), generation(1)]).map(text)).toEqual(['value', 'token'])
    expect(text(backend.get(generation(1)))).toBe('token')
    expect(backend.keys('app|SHOP:').sort()).toEqual([generation(1), result(1)])
    expect(backend.keys('app|SHOP:g:')).toEqual([generation(1)])
    expect(backend.setNx(generation(1), bytes('other'), undefined)).toBe(false)
    // Another value in the guard: nothing is stored.
    setGuarded(
      { key: generation(1), value: bytes('other'), ttlMs: 60_000 },
      { key: result(1), value: bytes('late'), ttlMs: 30_000 },
    )
    expect(text(backend.get(result(1)))).toBe('value')
    // An invalidation replaces the generation (a marker): the row keeps the result beside it.
    backend.setMany([{ key: generation(1), value: bytes('!marker'), ttlMs: undefined, bookkeeping: true }])
    expect(text(backend.get(generation(1)))).toBe('!marker')
    expect(text(backend.get(result(1)))).toBe('value')
    expect(backend.delete(result(1))).toBe(true)
    expect(backend.get(result(1))).toBeUndefined()
    expect(text(backend.get(generation(1)))).toBe('!marker')
    expect(backend.delete(generation(1))).toBe(true)
    expect(rows(backend)).toBe(0)
    backend.close()
  })

  it('deletePrefix removes the keys under it in both slots, and only those', () => {
    const backend = fresh()
    const { setGuarded } = backend.accelerations()
    for (let n = 0; n < 5; n++) {
      setGuarded(
        { key: generation(n), value: bytes('t'), ttlMs: undefined },
        { key: result(n), value: bytes('v'), ttlMs: undefined },
      )
    }
    backend.set('app|SHOP:k:1:x', bytes('kv'), undefined)
    expect(backend.deletePrefix('app|SHOP:g:')).toBe(5)
    expect(backend.keys('app|SHOP:').length).toBe(6)
    expect(backend.deletePrefix('app|SHOP:')).toBe(6)
    expect(rows(backend)).toBe(0)
    backend.close()
  })

  it('eviction takes a result and its own generation, never an invalidation marker', () => {
    const backend = new SqliteBackend({
      path: join(directory, `db-${files++}.sqlite`),
      sweepInterval: false,
      maxEntries: 10,
    })
    const { setGuarded } = backend.accelerations()
    for (let n = 0; n < 20; n++) {
      setGuarded(
        { key: generation(n), value: bytes('t'), ttlMs: undefined },
        { key: result(n), value: bytes('v'), ttlMs: undefined },
      )
    }
    // Argument 0 invalidated: its generation is now a marker (bookkeeping).
    backend.setMany([{ key: generation(0), value: bytes('!m'), ttlMs: undefined, bookkeeping: true }])
    expect(backend.sweep().evicted).toBeGreaterThan(0)
    expect(text(backend.get(generation(0)))).toBe('!m')
    expect(backend.get(result(0))).toBeUndefined()
    expect(backend.get(result(1))).toBeUndefined()
    expect(backend.get(generation(1))).toBeUndefined()
    expect(backend.keys('app|SHOP:r:').length).toBeLessThanOrEqual(10)
    backend.close()
  })

  it('expired keys are removed by the walk: a whole pass with sweep(), each slot on its own', async () => {
    const backend = fresh()
    const { setGuarded } = backend.accelerations()
    for (let n = 0; n < 700; n++) {
      setGuarded(
        { key: generation(n), value: bytes('t'), ttlMs: 60_000 },
        { key: result(n), value: bytes('v'), ttlMs: 10 },
      )
    }
    setGuarded(
      { key: generation(1000), value: bytes('t'), ttlMs: 10 },
      { key: result(1000), value: bytes('v'), ttlMs: 10 },
    )
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(backend.sweep().expired).toBe(702)
    // The results are gone, their generations (a longer TTL) stay; the row with both expired is deleted.
    expect(rows(backend)).toBe(700)
    expect(backend.keys('app|SHOP:').length).toBe(700)
    expect(backend.get(generation(3))).toBeDefined()
    backend.close()
  })
})
