import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { DiskBackend } from '@rapide/backend-disk'
import { MemoryBackend } from '@rapide/backend-memory'
import { RedisBackend } from '@rapide/backend-redis'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache } from '@rapide/core'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { rawDiskCache } from './raw-disk-cache.js'
import { type Customer, loadCustomer } from './workload.js'

/**
 * The raw client of the SQLite group (prepared `SELECT` / `INSERT OR REPLACE`, `node:v8`, WAL and
 * `synchronous = NORMAL`) on its own file.
 */
function rawSqlite(path: string) {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER) WITHOUT ROWID')
  const select = db
    .prepare('SELECT value FROM cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)')
    .pluck()
  const upsert = db.prepare('INSERT OR REPLACE INTO cache (key, value, expires_at) VALUES (?, ?, ?)')
  const call = (id: number) => {
    const key = `customer:${id}`
    const now = Date.now()
    const stored = select.get(key, now) as Buffer | undefined
    if (stored !== undefined) return deserialize(stored)
    const value = loadCustomer(id)
    upsert.run(key, serialize(value), now + HOUR_MS)
    return value
  }
  return { db, call }
}

/** One way of calling the wrapped function for hits (a backend may have several: read cache on or off, calls in flight). */
export interface HitVariant {
  readonly label: string
  readonly call: (id: number) => unknown
  /** Runs before this variant is measured (after the previous one). */
  readonly before?: () => Promise<void>
  /** Calls in flight at once; one when absent. */
  readonly inFlight?: number
  /**
   * A hand-written cache over the same store (the raw client), filled with the same entries: how much of
   * the growth the store itself causes (CPU caches, index depth). Not a target, a floor.
   */
  readonly reference?: boolean
}

/**
 * One phase of the scale run on one backend: a fresh cache (its own domain) over the backend, wrapping
 * the workload's function. The phase fills it with `entries` results, measures hits on random stored
 * keys, then function and domain invalidation.
 */
export interface ScalePhase {
  readonly async: boolean
  readonly hits: readonly HitVariant[]
  /**
   * Stores the results of ids `0 … count-1` through the wrapped function itself (every call a miss), and
   * the same entries in the reference's store.
   */
  fill(count: number, progress: (done: number) => void): Promise<void>
  invalidateFunction(): unknown
  invalidateDomain(): unknown
  close(): Promise<void>
}

/** A backend under test: a phase per number of entries, then `close`. */
export interface ScaleStore {
  readonly backend: 'memory' | 'sqlite' | 'redis' | 'disk'
  readonly title: string
  /** The numbers of entries this backend is measured with, ascending, when not the run's own. */
  readonly sizes?: readonly number[]
  /** How the store is filled, for the report. */
  readonly fillMethod: string
  /** A fresh cache, empty; `name` is unique per phase (its domain, its file). */
  phase(name: string): ScalePhase
  close(): Promise<void>
}

const FUNCTION_KEY = 'LOAD_CUSTOMER'
const HOUR_MS = 3_600_000
/** How often a fill reports progress, in calls. */
const PROGRESS_EVERY = 100_000

/**
 * The memory backend, bounded above the largest phase (the default bound, 10 000, would evict: the test
 * is about entries *stored*). Each phase gets a fresh backend, so the small phase is not measured on a
 * store that holds the large one's leftovers.
 */
export function memoryScaleStore(largest: number): ScaleStore {
  return {
    backend: 'memory',
    title: 'memory',
    fillMethod: 'the wrapped synchronous function, one call per id',
    phase(name) {
      const backend = new MemoryBackend({ maxEntries: 2 * largest })
      const cache = createCache({ domainKey: `SCALE_${name}`, backend })
      const load = cache.wrap(FUNCTION_KEY, loadCustomer)
      // The hand-written memo of the memory group, as the reference.
      const memo = new Map<string, Customer>()
      const handMemo = (id: number): Customer => {
        const key = JSON.stringify([id])
        const hit = memo.get(key)
        if (hit !== undefined) return hit
        const value = loadCustomer(id)
        memo.set(key, value)
        return value
      }
      return {
        async: false,
        hits: [
          { label: 'hit (sync fn)', call: load },
          { label: 'hand-written JSON.stringify + Map memo hit', call: handMemo, reference: true },
        ],
        async fill(count, progress) {
          for (let id = 0; id < count; id++) {
            load(id)
            handMemo(id)
            if ((id + 1) % PROGRESS_EVERY === 0) progress(id + 1)
          }
          if (backend.size < count) throw new Error(`memory holds ${backend.size} entries, expected ${count}`)
        },
        invalidateFunction: () => cache.invalidateFunc(FUNCTION_KEY),
        invalidateDomain: () => cache.invalidateDomain(),
        close: async () => {
          memo.clear()
          await cache.close()
        },
      }
    },
    close: async () => {},
  }
}

/**
 * SQLite, a fresh file per phase in a temporary folder (removed on close). Hits are measured with the
 * default read cache (4 096 keys: with more keys stored than that, random hits mostly probe the file),
 * then with `readCache: false` on a second connection to the same file (every hit probes); the
 * invalidations go through that second connection.
 *
 * The fill runs the wrapped function in transactions of 10 000 calls on the backend's own connection: the
 * rows are exactly what the misses write, with one commit per 10 000 instead of one per call.
 */
export function sqliteScaleStore(): ScaleStore {
  const directory = mkdtempSync(join(tmpdir(), 'rapide-bench-scale-'))
  return {
    backend: 'sqlite',
    title: 'SQLite',
    fillMethod: 'the wrapped synchronous function, in transactions of 10 000 calls',
    phase(name) {
      const path = join(directory, `${name}.sqlite`)
      const backend = new SqliteBackend({ path })
      const domainKey = `SCALE_${name}`
      let cache = createCache({ domainKey, backend, defaultTtl: '1h' })
      let load = cache.wrap(FUNCTION_KEY, loadCustomer)
      // A second connection to the same file without its read cache, for the second hit row. One store
      // takes a function key once per domain, so it replaces the first cache rather than joining it.
      let uncachedBackend: SqliteBackend | undefined
      const raw = rawSqlite(join(directory, `${name}-raw.sqlite`))
      return {
        async: false,
        hits: [
          { label: 'hit (sync fn)', call: (id) => load(id) },
          {
            label: 'hit (sync fn, readCache off)',
            call: (id) => load(id),
            before: async () => {
              await cache.close()
              uncachedBackend = new SqliteBackend({ path, readCache: false })
              cache = createCache({ domainKey, backend: uncachedBackend, defaultTtl: '1h' })
              load = cache.wrap(FUNCTION_KEY, loadCustomer)
            },
          },
          { label: 'raw better-sqlite3 SELECT + v8 hit', call: raw.call, reference: true },
        ],
        async fill(count, progress) {
          const chunk = 10_000
          const fillChunk = backend.database.transaction((from: number, to: number) => {
            for (let id = from; id < to; id++) load(id)
          })
          const fillRaw = raw.db.transaction((from: number, to: number) => {
            for (let id = from; id < to; id++) raw.call(id)
          })
          for (let from = 0; from < count; from += chunk) {
            const to = Math.min(count, from + chunk)
            fillChunk(from, to)
            fillRaw(from, to)
            if (to % PROGRESS_EVERY === 0) progress(to)
            // Lets the backend's own background work (sweeps after writes) run, as it would in an app.
            await new Promise((resolve) => setImmediate(resolve))
          }
        },
        invalidateFunction: () => cache.invalidateFunc(FUNCTION_KEY),
        invalidateDomain: () => cache.invalidateDomain(),
        async close() {
          await cache.close()
          backend.close()
          uncachedBackend?.close()
          raw.db.close()
        },
      }
    },
    close: async () => rmSync(directory, { recursive: true, force: true }),
  }
}

/**
 * Redis, one server for both phases, each under its own domain (the small phase runs first, so it sees
 * an almost empty server). Hits with one call in flight and with 64, as in the Redis group.
 *
 * The fill runs the wrapped function with `FILL_IN_FLIGHT` calls in flight (ioredis pipelines them on
 * the connection): the keys and values are what misses write, the round trips overlap.
 */
export function redisScaleStore(url: string, ownServer: boolean): ScaleStore {
  const FILL_IN_FLIGHT = 256
  return {
    backend: 'redis',
    title: 'Redis',
    fillMethod: `the wrapped function, ${FILL_IN_FLIGHT} calls in flight`,
    phase(name) {
      const backend = new RedisBackend({ url })
      const cache = createCache({ domainKey: `SCALE_${name}`, backend, defaultTtl: '1h' })
      const load = cache.wrap(FUNCTION_KEY, async (id: number) => loadCustomer(id))
      const client = new Redis(url)
      const rawKey = (id: number) => `raw-scale:${name}:customer:${id}`
      const raw = async (id: number) => {
        const stored = await client.getBuffer(rawKey(id))
        if (stored !== null) return deserialize(stored)
        const value = loadCustomer(id)
        await client.set(rawKey(id), serialize(value), 'PX', HOUR_MS)
        return value
      }
      return {
        async: true,
        hits: [
          { label: 'hit, 1 in flight', call: load },
          { label: 'hit, 64 in flight', call: load, inFlight: 64 },
          { label: 'raw ioredis GET + v8 hit, 64 in flight', call: raw, inFlight: 64, reference: true },
        ],
        async fill(count, progress) {
          let next = 0
          let done = 0
          await Promise.all(
            Array.from({ length: FILL_IN_FLIGHT }, async () => {
              while (next < count) {
                const id = next++
                // The reference's entries are written directly: its miss path would add a useless GET.
                await Promise.all([
                  load(id),
                  client.set(rawKey(id), serialize(loadCustomer(id)), 'PX', HOUR_MS),
                ])
                if (++done % PROGRESS_EVERY === 0) progress(done)
              }
            }),
          )
        },
        invalidateFunction: () => cache.invalidateFunc(FUNCTION_KEY),
        invalidateDomain: () => cache.invalidateDomain(),
        async close() {
          // On a server the run did not start, leave nothing behind (on its own, the server is stopped).
          if (!ownServer) {
            await cache.clear()
            for await (const keys of client.scanStream({ match: `raw-scale:${name}:*`, count: 1000 }))
              if ((keys as string[]).length > 0) await client.unlink(...(keys as string[]))
          }
          await cache.close()
          await backend.close()
          await client.quit()
        },
      }
    },
    close: async () => {},
  }
}

/**
 * The disk backend, a fresh folder per phase under one temporary folder (each phase's folder is removed
 * when the phase ends, the temporary folder on close), at its own `sizes` (the issue asks for 1 000,
 * 100 000 and 1 000 000 entries). Beside it the raw file cache of the disk group (`readFileSync` + v8) in
 * its own folder of the phase, filled with the same ids.
 *
 * The fill runs the wrapped synchronous function once per id (every call a miss writing its file), and
 * yields to the event loop every 10 000 calls so the backend's background work can run.
 */
export function diskScaleStore(sizes: readonly number[]): ScaleStore {
  const directory = mkdtempSync(join(tmpdir(), 'rapide-bench-scale-disk-'))
  return {
    backend: 'disk',
    title: 'disk',
    sizes,
    fillMethod: 'the wrapped synchronous function, one call per id',
    phase(name) {
      const phaseDirectory = join(directory, name)
      const backend = new DiskBackend({ directory: join(phaseDirectory, 'rapide') })
      const cache = createCache({ domainKey: `SCALE_${name}`, backend, defaultTtl: '1h' })
      const load = cache.wrap(FUNCTION_KEY, loadCustomer)
      const rawDirectory = join(phaseDirectory, 'raw')
      mkdirSync(rawDirectory, { recursive: true })
      const raw = rawDiskCache(rawDirectory)
      return {
        async: false,
        hits: [
          { label: 'hit (sync fn)', call: load },
          { label: 'raw readFileSync + v8 hit', call: raw.call, reference: true },
        ],
        async fill(count, progress) {
          for (let id = 0; id < count; id++) {
            load(id)
            // The reference's entries are written directly: its miss path would add a failed read.
            raw.store(id)
            if ((id + 1) % PROGRESS_EVERY === 0) progress(id + 1)
            if ((id + 1) % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve))
          }
        },
        invalidateFunction: () => cache.invalidateFunc(FUNCTION_KEY),
        invalidateDomain: () => cache.invalidateDomain(),
        async close() {
          await cache.close()
          backend.close()
          rmSync(phaseDirectory, { recursive: true, force: true })
        },
      }
    },
    close: async () => rmSync(directory, { recursive: true, force: true }),
  }
}
