import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import KeyvSqlite from '@keyv/sqlite'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache as createRapide } from '@rapide/core'
import Database from 'better-sqlite3'
import { createCache as createCacheManager } from 'cache-manager'
import { Keyv } from 'keyv'
import type { Subject } from './subjects.js'
import { loadCustomer } from './workload.js'

const HOUR_MS = 3_600_000

/**
 * The SQLite subjects, each on its own fresh file in one temporary folder (removed on close):
 *
 * - rapide on `SqliteBackend`, wrapping the synchronous function (it stays synchronous), with its read
 *   cache (the default) and without it;
 * - the raw client: what a careful hand-written cache does with better-sqlite3 — one prepared
 *   `SELECT value ... WHERE key = ? AND not expired` and `INSERT OR REPLACE`, `node:v8` serialization
 *   (rapide's default serializer), WAL and `synchronous = NORMAL` like rapide's backend;
 * - cache-manager over Keyv with @keyv/sqlite (asynchronous, on the sqlite3 driver).
 */
export function sqliteSubjects(): Subject[] {
  const directory = mkdtempSync(join(tmpdir(), 'rapide-bench-sqlite-'))

  const backend = new SqliteBackend({ path: join(directory, 'rapide.sqlite') })
  const rapide = createRapide({ domainKey: 'BENCH', backend, defaultTtl: '1h' })
  const rapideCall = rapide.wrap('LOAD_CUSTOMER', loadCustomer)
  // The same backend without its read cache: every hit probes the file (see `readCache`).
  const uncachedBackend = new SqliteBackend({
    path: join(directory, 'rapide-uncached.sqlite'),
    readCache: false,
  })
  const uncached = createRapide({ domainKey: 'BENCH', backend: uncachedBackend, defaultTtl: '1h' })
  const uncachedCall = uncached.wrap('LOAD_CUSTOMER', loadCustomer)
  const rapideAsync = createRapide({ domainKey: 'BENCH_ASYNC', backend, defaultTtl: '1h' })
  const rapideAsyncCall = rapideAsync.wrap('LOAD_CUSTOMER', async (id: number) => loadCustomer(id))

  const db = new Database(join(directory, 'raw.sqlite'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER) WITHOUT ROWID')
  const select = db
    .prepare('SELECT value FROM cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)')
    .pluck()
  const upsert = db.prepare('INSERT OR REPLACE INTO cache (key, value, expires_at) VALUES (?, ?, ?)')
  const raw = (id: number) => {
    const key = `customer:${id}`
    const now = Date.now()
    const stored = select.get(key, now) as Buffer | undefined
    if (stored !== undefined) return deserialize(stored)
    const value = loadCustomer(id)
    upsert.run(key, serialize(value), now + HOUR_MS)
    return value
  }

  const keyvStore = new KeyvSqlite({ uri: `sqlite://${join(directory, 'keyv.sqlite')}` })
  const manager = createCacheManager({ stores: [new Keyv({ store: keyvStore })], ttl: HOUR_MS })

  let open = 5
  const closed = () => {
    if (--open > 0) return
    backend.close()
    uncachedBackend.close()
    rmSync(directory, { recursive: true, force: true })
  }
  return [
    {
      name: 'rapide sqlite (sync fn)',
      async: false,
      rapide: true,
      call: rapideCall,
      close: () => {
        rapide.close()
        closed()
      },
    },
    {
      name: 'rapide sqlite (sync fn, readCache off)',
      async: false,
      rapide: true,
      call: uncachedCall,
      close: () => {
        uncached.close()
        closed()
      },
    },
    {
      name: 'rapide sqlite (async fn)',
      async: true,
      rapide: true,
      call: rapideAsyncCall,
      close: () => {
        rapideAsync.close()
        closed()
      },
    },
    {
      name: 'raw better-sqlite3 + v8',
      async: false,
      rapide: false,
      call: raw,
      close: () => {
        db.close()
        closed()
      },
    },
    {
      name: 'cache-manager + @keyv/sqlite',
      async: true,
      rapide: false,
      call: (id) => manager.wrap(`customer:${id}`, async () => loadCustomer(id)),
      close: async () => {
        await manager.disconnect()
        closed()
      },
    },
  ]
}
