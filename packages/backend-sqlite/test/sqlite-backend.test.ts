import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { type Backend, type BackendEntry, createCache, RapideError, reclaimTiming } from '@rapide/core'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest'
import { defaultDatabasePath, SCHEMA_VERSION, SqliteBackend } from '../src/index.js'
import { locate } from '../src/key-slots.js'
import { requireDriver } from '../src/load-driver.js'
import { prefixEnd } from '../src/prefix-range.js'

const directory = mkdtempSync(join(tmpdir(), 'rapide-sqlite-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
let files = 0
const freshPath = () => join(directory, `db-${files++}.sqlite`)
const bytes = (text: string) => new Uint8Array(Buffer.from(text))
const rowCount = (backend: SqliteBackend, where = '1') =>
  backend.database.prepare(`SELECT count(*) FROM rapide_cache WHERE ${where}`).pluck().get() as number
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : Buffer.from(value).toString()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const databaseFiles = (path: string) => ['', '-wal', '-shm'].map((suffix) => path + suffix)

/**
 * Records the keys of the results the core stores, without knowing their layout: keys written with `set`
 * or as the entry of `setGuarded`, and never as a generation (created with `setNx`, as a `setGuarded`
 * guard, or rewritten by an invalidation).
 */
function recordResults(backend: SqliteBackend): { backend: Backend; takeResults: () => string[] } {
  let written: string[] = []
  const generations = new Set<string>()
  const { set, setNx } = backend
  backend.set = (key, value, ttlMs) => {
    written.push(key)
    set.call(backend, key, value, ttlMs)
  }
  backend.setNx = (key, value, ttlMs) => {
    generations.add(key)
    return setNx.call(backend, key, value, ttlMs)
  }
  onGuardedWrite(backend, (guard, entry) => {
    generations.add(guard.key)
    written.push(entry.key)
  })
  const takeResults = () => {
    const taken = written.filter((key) => !generations.has(key))
    written = []
    return taken
  }
  return { backend, takeResults }
}

/** Calls `spy` before each `setGuarded` of the accelerations the core gets from `backend`. */
function onGuardedWrite(
  backend: SqliteBackend,
  spy: (guard: BackendEntry<Uint8Array>, entry: BackendEntry<Uint8Array>) => void,
): void {
  const accelerations = backend.accelerations.bind(backend)
  backend.accelerations = () => {
    const own = accelerations()
    return {
      ...own,
      setGuarded: (guard, entry) => {
        spy(guard, entry)
        own.setGuarded(guard, entry)
      },
    }
  }
}

/** How many of `keys` the file still holds (expired or not), each in its slot of its row (see `key-slots.ts`). */
function present(backend: SqliteBackend, keys: readonly string[]): number {
  const has = [
    backend.database.prepare('SELECT count(*) FROM rapide_cache WHERE key = ? AND value IS NOT NULL').pluck(),
    backend.database
      .prepare('SELECT count(*) FROM rapide_cache WHERE key = ? AND gvalue IS NOT NULL')
      .pluck(),
  ]
  return keys.filter((key) => {
    const { row, slot } = locate(key)
    return has[slot]!.get(row) === 1
  }).length
}

function expectUnavailable(run: () => unknown, message: RegExp): void {
  try {
    run()
  } catch (error) {
    expect(RapideError.isInstance(error) && error.code).toBe('E_BACKEND_UNAVAILABLE')
    expect((error as Error).message).toMatch(message)
    return
  }
  throw new Error('expected E_BACKEND_UNAVAILABLE')
}

describe('opening', () => {
  it('creates the file and its folder, in WAL mode with a busy timeout', () => {
    const path = join(directory, 'nested', 'deeper', 'cache.sqlite')
    const backend = new SqliteBackend({ path, busyTimeout: '750ms' })
    expect(statSync(path).isFile()).toBe(true)
    expect(backend.database.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(backend.database.pragma('busy_timeout', { simple: true })).toBe(750)
    expect(backend.capabilities).toEqual({
      sync: true,
      persistent: true,
      shared: true,
      inProcessValues: false,
    })
    backend.close()
  })

  it("':memory:' is a private, non-persistent store (local coordination)", () => {
    const backend = new SqliteBackend({ path: ':memory:' })
    expect(backend.capabilities).toMatchObject({ persistent: false, shared: false })
    backend.set('k', bytes('v'), undefined)
    expect(new SqliteBackend({ path: ':memory:' }).get('k')).toBeUndefined()
    backend.close()
  })

  it('uses a database it is given, and leaves it open on close', () => {
    const db = new Database(freshPath())
    const backend = new SqliteBackend({ database: db })
    backend.set('k', bytes('v'), undefined)
    backend.close()
    expect(db.open).toBe(true)
    expect(db.prepare('SELECT count(*) FROM rapide_cache').pluck().get()).toBe(1)
    db.close()
  })

  it('two tables in one file are two caches', () => {
    const path = freshPath()
    const a = new SqliteBackend({ path, table: 'cache_a' })
    const b = new SqliteBackend({ path, table: 'cache_b' })
    a.set('k', bytes('a'), undefined)
    expect(b.get('k')).toBeUndefined()
    a.close()
    b.close()
  })

  it('refuses invalid options with typed errors', () => {
    const invalid = (options: ConstructorParameters<typeof SqliteBackend>[0]) => {
      try {
        new SqliteBackend(options).close()
      } catch (error) {
        return RapideError.isInstance(error) ? error.code : 'untyped'
      }
      return 'accepted'
    }
    expect(invalid({ path: ':memory:', table: 'x; DROP TABLE y' })).toBe('E_INVALID_OPTION')
    expect(invalid({ path: ':memory:', maxEntries: 0 })).toBe('E_INVALID_OPTION')
    expect(invalid({ path: ':memory:', maxBytes: 1.5 })).toBe('E_INVALID_OPTION')
    expect(invalid({ path: ':memory:', busyTimeout: -1 })).toBe('E_INVALID_TTL')
    expect(invalid({ path: ':memory:', onCorrupt: 'ignore' as 'throw' })).toBe('E_INVALID_OPTION')
    const db = new Database(':memory:')
    expect(invalid({ path: ':memory:', database: db })).toBe('E_INVALID_OPTION')
    expect(invalid({ database: db, onCorrupt: 'rebuild' })).toBe('E_INVALID_OPTION')
    db.close()
    // Every option is checked before the file is opened: a refused backend leaves nothing behind.
    const path = freshPath()
    expect(invalid({ path, readCache: 0 })).toBe('E_INVALID_OPTION')
    expect(invalid({ path, sweepInterval: -1 })).toBe('E_INVALID_TTL')
    expect(() => statSync(path)).toThrow(expect.objectContaining({ code: 'ENOENT' }))
  })

  it('refuses an unknown option, naming it (a typo is never silently ignored)', () => {
    let refused: unknown
    try {
      new SqliteBackend({ path: ':memory:', maxEntry: 10 } as ConstructorParameters<typeof SqliteBackend>[0])
    } catch (error) {
      refused = error
    }
    expect(RapideError.isInstance(refused) && refused.code).toBe('E_INVALID_OPTION')
    expect((refused as Error).message).toMatch(/"maxEntry".*maxEntries/)
    expect(() => new SqliteBackend('cache.sqlite' as never)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
  })

  it('names its store by the resolved file and table, so two instances on one file are one store', () => {
    const path = freshPath()
    const a = new SqliteBackend({ path })
    const b = new SqliteBackend({ path: relative(process.cwd(), path) })
    const link = join(directory, 'link-to-store.sqlite')
    symlinkSync(path, link)
    const c = new SqliteBackend({ path: link })
    const database = new Database(path)
    const d = new SqliteBackend({ database })
    expect(a.storeId).toBeTypeOf('string')
    expect(a.storeId).toContain(path)
    expect([b.storeId, c.storeId, d.storeId]).toEqual([a.storeId, a.storeId, a.storeId])
    const otherTable = new SqliteBackend({ path, table: 'other' })
    expect(otherTable.storeId).not.toBe(a.storeId)
    const other = new SqliteBackend({ path: freshPath() })
    expect(other.storeId).not.toBe(a.storeId)
    // A private in-memory database is its own store.
    expect(new SqliteBackend({ path: ':memory:' }).storeId).toBeUndefined()
    for (const backend of [a, b, c, d, otherTable, other]) backend.close()
    database.close()
  })

  it('a closed backend refuses operations with ClosedError', () => {
    const backend = new SqliteBackend({ path: ':memory:' })
    backend.close()
    expect(() => backend.get('k')).toThrow(expect.objectContaining({ code: 'E_CLOSED' }))
  })

  it('after close(), every operation throws ClosedError, also over a database it was given and left open', () => {
    const given = new Database(freshPath())
    const backends = [
      new SqliteBackend({ path: freshPath() }),
      new SqliteBackend({ path: ':memory:' }),
      new SqliteBackend({ database: given }),
    ]
    const entry = { key: 'k', value: bytes('v'), ttlMs: undefined }
    for (const backend of backends) {
      backend.set('k', bytes('v'), undefined)
      expect(text(backend.get('k'))).toBe('v') // now in the read cache too
      const { setGuarded, reclaimPrefix } = backend.accelerations()
      backend.close()
      backend.close() // harmless twice
      const operations: Record<string, () => unknown> = {
        get: () => backend.get('k'),
        set: () => backend.set('k', bytes('w'), undefined),
        delete: () => backend.delete('k'),
        ping: () => backend.ping(),
        getMany: () => backend.getMany(['k', 'other']),
        setMany: () => backend.setMany([entry]),
        deleteMany: () => backend.deleteMany(['k']),
        setNx: () => backend.setNx('new', bytes('v'), undefined),
        deleteIfEquals: () => backend.deleteIfEquals('k', bytes('v')),
        incr: () => backend.incr('counter', 1, undefined),
        expire: () => backend.expire('k', 1000),
        keys: () => backend.keys(''),
        deletePrefix: () => backend.deletePrefix(''),
        setGuarded: () => setGuarded({ ...entry, key: 'guard' }, entry),
        reclaimPrefix: () => reclaimPrefix('k'),
        'accelerations() after close': () =>
          backend.accelerations().setGuarded({ ...entry, key: 'guard' }, entry),
        sweep: () => backend.sweep(),
      }
      for (const [name, run] of Object.entries(operations)) {
        expect(run, `${backend.path}: ${name}`).toThrow(expect.objectContaining({ code: 'E_CLOSED' }))
      }
    }
    // Nothing was written after close: the given database still holds what was there.
    expect(given.open).toBe(true)
    expect(given.prepare('SELECT count(*) FROM rapide_cache').pluck().get()).toBe(1)
    given.close()
  })
})

describe('default path', () => {
  it('is node_modules/.cache/rapide in a project, the user cache folder elsewhere', () => {
    const project = join(directory, 'project')
    mkdirSync(join(project, 'node_modules'), { recursive: true })
    expect(defaultDatabasePath(project)).toBe(
      join(project, 'node_modules', '.cache', 'rapide', 'cache.sqlite'),
    )
    vi.stubEnv('XDG_CACHE_HOME', join(directory, 'xdg'))
    try {
      expect(defaultDatabasePath(join(directory, 'no-project'))).toBe(
        join(directory, 'xdg', 'rapide', 'cache.sqlite'),
      )
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('a missing or broken better-sqlite3', () => {
  it('says what to install', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: 'MODULE_NOT_FOUND' })
    }
    expectUnavailable(() => requireDriver(missing), /npm install better-sqlite3/)
  })

  it('says how to rebuild an addon that does not load', () => {
    const broken = () => {
      throw new Error(
        'The module was compiled against a different Node.js version using NODE_MODULE_VERSION 115',
      )
    }
    expectUnavailable(() => requireDriver(broken), /npm rebuild better-sqlite3/)
  })
})

describe('schema versions', () => {
  it('rebuilds the tables of an older layout instead of misreading them', () => {
    const path = freshPath()
    const db = new Database(path)
    db.exec(`CREATE TABLE rapide_cache_meta (name TEXT PRIMARY KEY, value ANY);
      INSERT INTO rapide_cache_meta VALUES ('schema', 0);
      CREATE TABLE rapide_cache (key TEXT PRIMARY KEY, value BLOB, expires REAL);
      INSERT INTO rapide_cache VALUES ('k', x'6f6c64', NULL);`)
    db.close()
    const backend = new SqliteBackend({ path })
    expect(backend.get('k')).toBeUndefined()
    backend.set('k', bytes('new'), undefined)
    expect(Buffer.from(backend.get('k')!).toString()).toBe('new')
    expect(
      backend.database.prepare("SELECT value FROM rapide_cache_meta WHERE name = 'schema'").pluck().get(),
    ).toBe(SCHEMA_VERSION)
    backend.close()
  })

  it('refuses a file written by a newer version, and a table it did not create', () => {
    const newer = freshPath()
    new SqliteBackend({ path: newer }).close()
    const db = new Database(newer)
    db.prepare("UPDATE rapide_cache_meta SET value = ? WHERE name = 'schema'").run(SCHEMA_VERSION + 1)
    db.close()
    expectUnavailable(() => new SqliteBackend({ path: newer }), /newer @rapide\/backend-sqlite/)

    const foreign = freshPath()
    const other = new Database(foreign)
    other.exec('CREATE TABLE rapide_cache (id INTEGER PRIMARY KEY, name TEXT)')
    other.close()
    expectUnavailable(() => new SqliteBackend({ path: foreign }), /did not create/)
  })
})

describe('housekeeping', () => {
  it('sweeps expired rows out of the file', async () => {
    const backend = new SqliteBackend({ path: freshPath(), sweepInterval: false })
    for (let i = 0; i < 600; i++) backend.set(`short:${i}`, bytes('x'), 10)
    backend.set('long', bytes('x'), 60_000)
    backend.set('forever', bytes('x'), undefined)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(backend.get('short:1')).toBeUndefined()
    expect(rowCount(backend)).toBe(602)
    expect(backend.sweep()).toMatchObject({ expired: 600 })
    expect(rowCount(backend)).toBe(2)
    backend.close()
  })

  it('reclaims the results an invalidation made dead, in the background, keeping the new ones', async () => {
    const { backend, takeResults } = recordResults(
      new SqliteBackend({ path: freshPath(), sweepInterval: false }),
    )
    const sqlite = backend as SqliteBackend
    const cache = createCache({ domainKey: 'RECLAIM', backend })
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    const triple = cache.wrap('TRIPLE', (n: number) => n * 3)
    const written: Record<'DOUBLE' | 'TRIPLE', string[]> = { DOUBLE: [], TRIPLE: [] }
    for (let n = 0; n < 300; n++) {
      double(n)
      written.DOUBLE.push(...takeResults())
      triple(n)
      written.TRIPLE.push(...takeResults())
    }
    expect(present(sqlite, written.DOUBLE)).toBe(300)
    expect(present(sqlite, written.TRIPLE)).toBe(300)
    await sleep(5)
    cache.invalidateFunc('DOUBLE')
    double(1)
    const doubleAgain = takeResults()
    expect(doubleAgain).toHaveLength(1)
    // No sweep() call: the invalidation scheduled one, run in steps on later event-loop turns.
    // Its key is one of those written before: the row was rewritten after the invalidation, and stays.
    const deadDouble = written.DOUBLE.filter((key) => !doubleAgain.includes(key))
    expect(deadDouble).toHaveLength(299)
    await vi.waitFor(() => expect(present(sqlite, deadDouble)).toBe(0), { timeout: 2000 })
    expect(present(sqlite, doubleAgain)).toBe(1)
    expect(present(sqlite, written.TRIPLE)).toBe(300)
    expect(double(1)).toBe(2)
    // (It may have been stored again: the generation it was stored with was reclaimed too.)
    takeResults()
    await sleep(5)
    cache.invalidateDomain()
    triple(2)
    const tripleAgain = takeResults()
    expect(tripleAgain).toHaveLength(1)
    const deadTriple = written.TRIPLE.filter((key) => !tripleAgain.includes(key))
    await vi.waitFor(() => expect(present(sqlite, deadTriple)).toBe(0), { timeout: 2000 })
    expect(present(sqlite, tripleAgain)).toBe(1)
    expect(present(sqlite, doubleAgain)).toBe(0)
    await cache.close()
    sqlite.close()
  })

  it('reclaims the per-argument generations of a function invalidation too, keeping the new ones', async () => {
    const backend = new SqliteBackend({ path: freshPath(), sweepInterval: false })
    const guards: string[] = []
    onGuardedWrite(backend, (guard) => guards.push(guard.key))
    // The core sweeps per-argument generations a minute after an invalidation; here at once.
    const delay = reclaimTiming.generationDelayMs
    reclaimTiming.generationDelayMs = 0
    onTestFinished(() => {
      reclaimTiming.generationDelayMs = delay
    })
    const cache = createCache({ domainKey: 'GENERATIONS', backend })
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    for (let n = 0; n < 300; n++) double(n)
    const before = guards.splice(0)
    expect(before.length).toBeGreaterThanOrEqual(299)
    expect(present(backend, before)).toBe(before.length)
    await sleep(5)
    cache.invalidateFunc('DOUBLE')
    double(1000)
    const after = guards.splice(0)
    expect(after).toHaveLength(1)
    await vi.waitFor(() => expect(present(backend, before)).toBe(0), { timeout: 2000 })
    expect(present(backend, after)).toBe(1)
    expect(double(1000)).toBe(2000)
    await cache.close()
    backend.close()
  })

  it('a guard that setGuarded finds in place counts as written then: a reclaim made before keeps it', async () => {
    const backend = new SqliteBackend({ path: freshPath(), sweepInterval: false })
    const { setGuarded, reclaimPrefix } = backend.accelerations()
    const token = bytes('token')
    setGuarded(
      { key: 'gens:1', value: token, ttlMs: undefined },
      { key: 'results:1', value: token, ttlMs: undefined },
    )
    setGuarded(
      { key: 'gens:2', value: token, ttlMs: undefined },
      { key: 'results:2', value: token, ttlMs: undefined },
    )
    await sleep(5)
    reclaimPrefix('gens:')
    // Later than the reclaim, before its background sweep can run (that needs an event-loop turn).
    const later = Date.now() + 3
    while (Date.now() < later) {}
    // A result stored after the reclaim with the generation it found: that generation is in use again.
    setGuarded(
      { key: 'gens:1', value: token, ttlMs: undefined },
      { key: 'results:1', value: bytes('new'), ttlMs: undefined },
    )
    // Another value in the guard: nothing is stored, nothing is touched.
    setGuarded(
      { key: 'gens:2', value: bytes('other'), ttlMs: undefined },
      { key: 'results:2', value: bytes('new'), ttlMs: undefined },
    )
    expect(backend.sweep().reclaimed).toBe(1)
    expect(backend.keys('gens:')).toEqual(['gens:1'])
    expect(text(backend.get('results:1'))).toBe('new')
    expect(text(backend.get('results:2'))).toBe('token')
    backend.close()
  })

  it('reclaimPrefix removes every row under the prefix written before the call, whatever wrote it', async () => {
    const backend = new SqliteBackend({ path: freshPath(), sweepInterval: false })
    const { setGuarded, reclaimPrefix } = backend.accelerations()
    const token = bytes('token')
    // Rows of every kind: generations are written by setMany (invalidations), setNx and setGuarded.
    backend.setMany([
      { key: 'gens:a', value: token, ttlMs: undefined },
      { key: 'gens:b', value: token, ttlMs: 60_000 },
    ])
    backend.setNx('gens:c', token, undefined)
    setGuarded(
      { key: 'gens:d', value: token, ttlMs: undefined },
      { key: 'other:d', value: token, ttlMs: undefined },
    )
    backend.incr('gens:e', 1, undefined)
    backend.set('gens:f', token, undefined)
    await sleep(5)
    reclaimPrefix('gens:')
    backend.setNx('gens:later', token, undefined)
    expect(backend.sweep().reclaimed).toBe(6)
    expect(backend.keys('gens:')).toEqual(['gens:later'])
    expect(backend.get('other:d')).toBeDefined()
    backend.close()
  })

  it('maxEntries evicts the oldest-written entries first', async () => {
    const backend = new SqliteBackend({ path: freshPath(), maxEntries: 100, sweepInterval: false })
    for (let i = 0; i < 300; i++) {
      backend.set(`k${i}`, bytes(`v${i}`), undefined)
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const report = backend.sweep()
    expect(report.evicted).toBe(210)
    expect(rowCount(backend)).toBe(90)
    expect(backend.get('k299')).toBeDefined()
    expect(backend.get('k0')).toBeUndefined()
    expect(backend.get('k209')).toBeUndefined()
    expect(backend.get('k210')).toBeDefined()
    backend.close()
  })

  it('eviction keeps the generations live results depend on: surviving results are still hits', async () => {
    const backend = new SqliteBackend({ path: freshPath(), maxEntries: 100, sweepInterval: false })
    const cache = createCache({ domainKey: 'EVICT', backend })
    let computed = 0
    const square = cache.wrap('SQUARE', (n: number) => {
      computed++
      return n * n
    })
    square(-1)
    // The function's generation is rewritten (by a plain set today): it must still outlive the results.
    cache.invalidateFunc('SQUARE')
    for (let n = 0; n < 300; n++) {
      square(n)
      // Distinct write times, so "oldest written" means something.
      if (n % 30 === 0) await sleep(2)
    }
    expect(computed).toBe(301)
    expect(backend.sweep().evicted).toBeGreaterThan(0)
    expect(rowCount(backend)).toBeLessThanOrEqual(100)
    // The newest results survived eviction, and they are hits: their function's and domain's
    // generations (the oldest rows in the file) were not evicted.
    for (let n = 299; n >= 280; n--) expect(square(n)).toBe(n * n)
    expect(computed).toBe(301)
    expect(square(0)).toBe(0)
    expect(computed).toBe(302)
    await cache.close()
    backend.close()
  })

  it('bounds and evicts values only: bookkeeping rows (setNx, incr, setMany entries marked so) are neither counted nor evicted', async () => {
    const backend = new SqliteBackend({ path: freshPath(), maxEntries: 20, sweepInterval: false })
    backend.setNx('lock', bytes('me'), undefined)
    backend.setMany([
      { key: 'generation', value: bytes('g'), ttlMs: undefined, bookkeeping: true },
      { key: 'kv-batch', value: bytes('v'), ttlMs: undefined },
    ])
    backend.incr('counter', 1, undefined)
    await sleep(3)
    for (let i = 0; i < 30; i++) backend.set(`value${i}`, bytes('v'), undefined)
    backend.sweep()
    // 31 values over a bound of 20: back to 18, oldest first (the unmarked batch entry is a value).
    expect(rowCount(backend, "key LIKE 'value%' OR key = 'kv-batch'")).toBe(18)
    expect(backend.get('kv-batch')).toBeUndefined()
    expect(backend.get('value0')).toBeUndefined()
    expect(backend.keys('').sort()).toEqual(
      expect.arrayContaining(['counter', 'generation', 'lock', 'value29']),
    )
    // However much bookkeeping piles up (a burst of invalidation markers), it never pushes values out.
    for (let i = 0; i < 30; i++) backend.setNx(`g${i}`, bytes('g'), undefined)
    backend.sweep()
    expect(rowCount(backend, "key LIKE 'value%'")).toBe(18)
    expect(backend.get('g0')).toBeDefined()
    expect(backend.get('lock')).toBeDefined()
    backend.close()
  })

  it('a burst of result invalidations does not push live results out of a bounded cache', () => {
    const backend = new SqliteBackend({ path: freshPath(), maxEntries: 200, sweepInterval: false })
    const cache = createCache({ domainKey: 'BURST', backend, defaultTtl: 600 })
    let computed = 0
    const profile = cache.wrap('PROFILE', (id: number) => {
      computed++
      return { id }
    })
    for (let id = 0; id < 50; id++) profile(id)
    // 500 other arguments computed and invalidated: 500 markers, more than the bound.
    for (let id = 1000; id < 1500; id++) {
      profile(id)
      profile.invalidate(id)
    }
    backend.sweep()
    computed = 0
    for (let id = 0; id < 50; id++) profile(id)
    expect(computed).toBe(0)
    backend.close()
  })

  it('two caches built from the class open one default file: a function key is refused the second time', async () => {
    const domainKey = `APP-${process.pid}-${Date.now()}`
    const first = createCache({ domainKey, backend: SqliteBackend })
    const second = createCache({ domainKey, backend: SqliteBackend })
    try {
      first.wrap('F', (n: number) => n)
      expect(() => second.wrap('F', (n: number) => -n)).toThrow(
        expect.objectContaining({ code: 'E_DUPLICATE_FUNCTION_KEY' }),
      )
    } finally {
      await first.close()
      await second.close()
    }
  })

  it('a relative path is resolved once: a later chdir does not move the cache', () => {
    const backend = new SqliteBackend({ path: relative(process.cwd(), freshPath()), sweepInterval: false })
    expect(isAbsolute(backend.path)).toBe(true)
    backend.close()
  })

  it('maxBytes bounds the stored bytes', () => {
    const backend = new SqliteBackend({ path: freshPath(), maxBytes: 10_000, sweepInterval: false })
    for (let i = 0; i < 100; i++) backend.set(`k${i}`, new Uint8Array(1000), undefined)
    backend.sweep()
    const stored = backend.database
      .prepare('SELECT total(length(value)) FROM rapide_cache')
      .pluck()
      .get() as number
    expect(stored).toBeLessThanOrEqual(10_000)
    expect(stored).toBeGreaterThan(5_000)
    backend.close()
  })
})

describe('counters', () => {
  it('refuse to leave the safe integer range, leaving the counter unchanged', () => {
    const backend = new SqliteBackend({ path: freshPath() })
    const max = Number.MAX_SAFE_INTEGER
    expect(backend.incr('up', max - 1, undefined)).toBe(max - 1)
    expect(backend.incr('up', 1, undefined)).toBe(max)
    const overflow = expect.objectContaining({ code: 'E_COUNTER_OVERFLOW', name: 'CounterOverflowError' })
    expect(() => backend.incr('up', 1, undefined)).toThrow(overflow)
    expect(text(backend.get('up'))).toBe(String(max))
    expect(backend.incr('up', -1, undefined)).toBe(max - 1)
    expect(backend.incr('down', -max, undefined)).toBe(-max)
    expect(() => backend.incr('down', -1, undefined)).toThrow(overflow)
    expect(text(backend.get('down'))).toBe(String(-max))
    // An absent counter is not created when the first step is already out of range.
    expect(() => backend.incr('new', 2 ** 53, undefined)).toThrow(overflow)
    expect(backend.get('new')).toBeUndefined()
    backend.close()
  })

  it('through the cache: a typed error, the counter unchanged', () => {
    const cache = createCache({
      domainKey: 'COUNT',
      backend: new SqliteBackend({ path: freshPath() }),
      onError: 'raise',
    })
    cache.incr('hits', Number.MAX_SAFE_INTEGER)
    expect(() => cache.incr('hits')).toThrow(expect.objectContaining({ code: 'E_COUNTER_OVERFLOW' }))
    expect(cache.incr('hits', 0)).toBe(Number.MAX_SAFE_INTEGER)
    cache.close()
  })
})

describe('a file deleted or replaced under a running process', () => {
  function spyWarnings(): { codes: () => unknown[]; restore: () => void } {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    return {
      codes: () => warn.mock.calls.map((call) => (call[1] as { code?: unknown } | undefined)?.code),
      restore: () => warn.mockRestore(),
    }
  }

  it('deleted: noticed by reads within fileCheckInterval and before every write, reopened and reported', async () => {
    const path = freshPath()
    const warnings = spyWarnings()
    try {
      const a = new SqliteBackend({ path, fileCheckInterval: '50ms', sweepInterval: false })
      const b = new SqliteBackend({ path, sweepInterval: false })
      a.set('k', bytes('old'), undefined)
      expect(text(a.get('k'))).toBe('old')
      expect(text(b.get('k'))).toBe('old')
      for (const file of databaseFiles(path)) rmSync(file, { force: true }) // rm -rf node_modules/.cache
      // B writes (an invalidation, say): it checks the file first, so it writes where others will read.
      b.set('k', bytes('new'), undefined)
      const observer = new SqliteBackend({ path, sweepInterval: false })
      expect(text(observer.get('k'))).toBe('new')
      await sleep(60)
      // Within the bound, A has followed: it reads B's write, not what the deleted file held.
      expect(text(a.get('k'))).toBe('new')
      a.set('from-a', bytes('seen'), undefined)
      expect(text(observer.get('from-a'))).toBe('seen')
      expect(warnings.codes().filter((code) => code === 'RAPIDE_SQLITE_REOPENED')).toHaveLength(2)
      for (const backend of [a, b, observer]) backend.close()
    } finally {
      warnings.restore()
    }
  })

  it('replaced (another process rebuilt it): an invalidation made in the new file is seen', async () => {
    const path = freshPath()
    const warnings = spyWarnings()
    try {
      const a = new SqliteBackend({ path, fileCheckInterval: '50ms', sweepInterval: false })
      const cache = createCache({ domainKey: 'FOLLOW', backend: a, onError: 'raise' })
      let truth = 1
      const read = cache.wrap('READ', () => truth)
      expect(read()).toBe(1)
      truth = 2
      expect(read()).toBe(1) // cached
      // Another process rebuilds the file (as onCorrupt: 'rebuild' does): the new one holds nothing of ours.
      for (const file of databaseFiles(path)) rmSync(file, { force: true })
      const rebuilt = new SqliteBackend({ path, sweepInterval: false })
      rebuilt.set('unrelated', bytes('x'), undefined)
      rebuilt.close()
      await sleep(60)
      expect(read()).toBe(2)
      expect(warnings.codes()).toContain('RAPIDE_SQLITE_REOPENED')
      cache.close()
    } finally {
      warnings.restore()
    }
  })
})

describe('locks', () => {
  it('are exclusive across connections to one file, and a crashed holder blocks only until the TTL', async () => {
    const path = freshPath()
    const holder = createCache({ domainKey: 'LOCKS', backend: new SqliteBackend({ path }) })
    const other = createCache({ domainKey: 'LOCKS', backend: new SqliteBackend({ path }) })
    const token = holder.lock('rebuild', { ttl: '100ms' })
    expect(typeof token).toBe('string')
    expect(other.lock('rebuild', { ttl: '100ms' })).toBeUndefined()
    expect(other.isLocked('rebuild')).toBe(true)
    // Only the holder's token releases it.
    expect(other.unlock('rebuild', 'not-the-token')).toBe(false)
    expect(holder.unlock('rebuild', token!)).toBe(true)
    expect(typeof other.lock('rebuild', { ttl: '100ms' })).toBe('string')
    // The new holder "crashes" (never unlocks): the lock frees itself at its TTL.
    expect(holder.lock('rebuild', { ttl: '100ms' })).toBeUndefined()
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(typeof holder.lock('rebuild', { ttl: '100ms' })).toBe('string')
    holder.close()
    other.close()
  })
})

describe('prefix ranges', () => {
  it('bound exactly the keys that start with the prefix', () => {
    expect(prefixEnd('app:r:')).toBe('app:r;')
    expect(prefixEnd('')).toBeUndefined()
    expect(prefixEnd('a\u{10ffff}')).toBe('b')
    expect(prefixEnd('\ud7ff')).toBe('\ue000')
    const backend = new SqliteBackend({ path: ':memory:' })
    const keys = ['p', 'p:', 'p:a', 'p:\u{10ffff}', 'p:🐎', 'p;', 'q', 'o\u{10ffff}']
    for (const key of keys) backend.set(key, bytes(key), undefined)
    expect(backend.keys('p:').sort()).toEqual(['p:', 'p:a', 'p:\u{10ffff}', 'p:🐎'].sort())
    expect(backend.deletePrefix('p')).toBe(6)
    expect(backend.keys('').sort()).toEqual(['o\u{10ffff}', 'q'])
    backend.close()
  })
})

describe('corruption', () => {
  it('a file that is not a database is a clear error naming it, or a rebuilt cache when asked', () => {
    const path = freshPath()
    writeFileSync(path, 'this is not a database, but it is long enough to look like one. '.repeat(100))
    expectUnavailable(() => new SqliteBackend({ path }), /not a usable SQLite database.*onCorrupt/)
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    try {
      const backend = new SqliteBackend({ path, onCorrupt: 'rebuild' })
      backend.set('k', bytes('v'), undefined)
      expect(Buffer.from(backend.get('k')!).toString()).toBe('v')
      backend.close()
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/is corrupt .*rebuilding an empty cache/)
    } finally {
      warn.mockRestore()
    }
  })

  it('overwritten pages: typed errors under raise, computed values under silent, a rebuild when asked', async () => {
    const path = freshPath()
    const writer = new SqliteBackend({ path, sweepInterval: false })
    const seed = createCache({ domainKey: 'CORRUPT', backend: writer })
    const slow = seed.wrap('SLOW', (n: number) => `value-${n}`.repeat(20))
    for (let n = 0; n < 2000; n++) slow(n)
    writer.database.pragma('wal_checkpoint(TRUNCATE)')
    await seed.close()
    writer.close()
    // Garbage over the second half of the file: the header and schema pages stay valid, so the file
    // opens, and the damage shows when entries are read.
    const size = statSync(path).size
    const fd = openSync(path, 'r+')
    const garbage = Buffer.alloc(4096, 0xa5)
    for (let offset = Math.floor(size / 8192) * 4096; offset < size; offset += 4096) {
      writeSync(fd, garbage, 0, garbage.length, offset)
    }
    closeSync(fd)

    const opened: SqliteBackend[] = []
    const failing = (onError: 'raise' | 'silent', onCorrupt: 'throw' | 'rebuild') => {
      const backend = new SqliteBackend({ path, onCorrupt, sweepInterval: false })
      opened.push(backend)
      return createCache({ domainKey: 'CORRUPT', backend, onError })
    }
    const expected = (n: number) => `value-${n}`.repeat(20)
    let raised: unknown
    // Each cache is closed before the next wraps SLOW: two open caches on one store may not share a function key.
    const raising = failing('raise', 'throw')
    try {
      const read = raising.wrap('SLOW', expected)
      for (let n = 0; n < 2000; n++) read(n)
    } catch (error) {
      raised = error
    }
    await raising.close()
    expect(RapideError.isInstance(raised) && raised.code).toBe('E_BACKEND_UNAVAILABLE')
    expect((raised as Error).message).toMatch(/not a usable SQLite database/)

    const silent = failing('silent', 'throw')
    const errors: unknown[] = []
    silent.on('error', ({ error }) => errors.push(error))
    const read = silent.wrap('SLOW', expected)
    for (let n = 0; n < 2000; n++) expect(read(n)).toBe(expected(n))
    expect(errors.length).toBeGreaterThan(0)
    await silent.close()

    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    const rebuilt = failing('raise', 'rebuild')
    const again = rebuilt.wrap('SLOW', expected)
    for (let n = 0; n < 2000; n++) expect(again(n)).toBe(expected(n))
    for (let n = 0; n < 2000; n++) expect(again(n)).toBe(expected(n))
    rebuilt.set('after', 1)
    expect(rebuilt.get('after')).toBe(1)
    await rebuilt.close()
    for (const backend of opened) backend.close()
    expect(warn).toHaveBeenCalledTimes(1)
    warn.mockRestore()
  })

  it('a corrupt file opened without rebuild is a clear error at construction', () => {
    const path = freshPath()
    const writer = new SqliteBackend({ path })
    writer.set('k', bytes('v'), undefined)
    writer.close()
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4096)
    closeSync(fd)
    expectUnavailable(() => new SqliteBackend({ path }).get('k'), /not a usable SQLite database/)
  })
})

describe('the read cache', () => {
  const bytes = (text: string) => Buffer.from(text)
  const text = (value: Uint8Array | undefined) =>
    value === undefined ? undefined : Buffer.from(value).toString()

  it('serves kept reads only while no connection has written: another connection’s commit is seen at once', () => {
    const path = join(directory, 'read-cache.sqlite')
    const a = new SqliteBackend({ path })
    const b = new SqliteBackend({ path })
    a.set('k', bytes('one'), undefined)
    expect(text(a.get('k'))).toBe('one')
    expect(text(a.getMany(['k', 'absent'])[0])).toBe('one')
    b.set('k', bytes('two'), undefined)
    expect(text(a.get('k'))).toBe('two')
    b.set('absent', bytes('now here'), undefined)
    expect(text(a.getMany(['k', 'absent'])[1])).toBe('now here')
    b.delete('k')
    expect(a.get('k')).toBeUndefined()
    a.close()
    b.close()
  })

  it('forgets what this connection overwrites, and never serves a kept value past its expiry', async () => {
    const backend = new SqliteBackend({ path: join(directory, 'read-cache-own.sqlite') })
    backend.set('k', bytes('one'), undefined)
    expect(text(backend.get('k'))).toBe('one')
    backend.set('k', bytes('two'), 40)
    expect(text(backend.get('k'))).toBe('two')
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(backend.get('k')).toBeUndefined()
    backend.set('n', bytes('5'), undefined)
    expect(backend.get('n')).toBeDefined()
    expect(backend.incr('n', 1, undefined)).toBe(6)
    expect(text(backend.get('n'))).toBe('6')
    backend.close()
  })

  it('forgets rows the housekeeping removes, and stays within its size', () => {
    const backend = new SqliteBackend({
      path: join(directory, 'read-cache-evict.sqlite'),
      maxEntries: 10,
      readCache: 4,
    })
    for (let i = 0; i < 10; i++) backend.set(`k${i}`, bytes(`v${i}`), undefined)
    expect(text(backend.get('k0'))).toBe('v0')
    for (let i = 10; i < 20; i++) backend.set(`k${i}`, bytes(`v${i}`), undefined)
    expect(text(backend.get('k0'))).toBe('v0')
    backend.sweep()
    // Evicted oldest-written first: k0 is gone from the file, so it is gone from the reads too.
    expect(backend.get('k0')).toBeUndefined()
    for (let i = 10; i < 20; i++) backend.get(`k${i}`)
    const kept = (backend as unknown as { reader: { cache: { entries: Map<string, unknown> } } }).reader.cache
      .entries
    expect(kept.size).toBeLessThanOrEqual(4)
    backend.close()
  })

  it('is off with a database you pass (it may be written behind the backend’s back), unless asked for', () => {
    const database = new Database(join(directory, 'read-cache-db.sqlite'))
    const backend = new SqliteBackend({ database })
    backend.set('k', bytes('one'), undefined)
    expect(text(backend.get('k'))).toBe('one')
    database.prepare(`UPDATE rapide_cache SET value = ? WHERE key = 'k'`).run(bytes('two'))
    expect(text(backend.get('k'))).toBe('two')
    expect(() => new SqliteBackend({ database, readCache: 0 })).toThrow(RapideError)
    backend.close()
    database.close()
  })
})
