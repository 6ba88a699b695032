import { type CacheEntry, cachified } from '@epic-web/cachified'
import { MemoryBackend } from '@rapide/backend-memory'
import { createCache as createRapide } from '@rapide/core'
import { createCache as createDedupe } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { LRUCache } from 'lru-cache'
import { type Customer, loadCustomer, MAX_ENTRIES } from './workload.js'

/** One library's way of caching `loadCustomer`, ready to call. */
export interface Subject {
  readonly name: string
  readonly async: boolean
  /** True for the reference rapide is compared against in its own row, false for peers. */
  readonly rapide: boolean
  readonly call: (id: number) => unknown
  readonly close?: () => unknown
}

export function memorySubjects(): Subject[] {
  const syncCache = createRapide({
    domainKey: 'BENCH_SYNC',
    backend: new MemoryBackend({ maxEntries: MAX_ENTRIES }),
  })
  const rapideSync = syncCache.wrap('LOAD_CUSTOMER', loadCustomer)
  const asyncCache = createRapide({
    domainKey: 'BENCH_ASYNC',
    backend: new MemoryBackend({ maxEntries: MAX_ENTRIES }),
  })
  const rapideAsync = asyncCache.wrap('LOAD_CUSTOMER', async (id: number) => loadCustomer(id))

  const memo = new Map<string, Customer>()
  const handMemoSync = (id: number): Customer => {
    const key = JSON.stringify([id])
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    const value = loadCustomer(id)
    memo.set(key, value)
    return value
  }
  const asyncMemo = new Map<string, Customer>()
  const handMemoAsync = async (id: number): Promise<Customer> => {
    const key = JSON.stringify([id])
    const hit = asyncMemo.get(key)
    if (hit !== undefined) return hit
    const value = loadCustomer(id)
    asyncMemo.set(key, value)
    return value
  }

  const dedupe = createDedupe({
    ttl: 3600,
    storage: { type: 'memory', options: { size: MAX_ENTRIES } },
  }).define('loadCustomer', async (id: number) => loadCustomer(id))

  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: MAX_ENTRIES })) },
  })

  const manager = createCacheManager({ ttl: 3_600_000 })

  const lru = new LRUCache<string, CacheEntry>({ max: MAX_ENTRIES })

  return [
    {
      name: 'rapide memory (sync fn)',
      async: false,
      rapide: true,
      call: rapideSync,
      close: () => syncCache.close(),
    },
    {
      name: 'hand-written JSON.stringify + Map memo (sync)',
      async: false,
      rapide: false,
      call: handMemoSync,
      // Unbounded by design (that is the hand-written memo); freed so it cannot slow later subjects.
      close: () => memo.clear(),
    },
    {
      name: 'rapide memory (async fn)',
      async: true,
      rapide: true,
      call: rapideAsync,
      close: () => asyncCache.close(),
    },
    {
      name: 'hand-written memo (async)',
      async: true,
      rapide: false,
      call: handMemoAsync,
      close: () => asyncMemo.clear(),
    },
    { name: 'async-cache-dedupe', async: true, rapide: false, call: (id) => dedupe.loadCustomer(id) },
    {
      name: 'bentocache (memory)',
      async: true,
      rapide: false,
      call: (id) => bento.getOrSet({ key: `customer:${id}`, factory: () => loadCustomer(id), ttl: '1h' }),
      close: () => bento.disconnectAll(),
    },
    {
      name: 'cache-manager (keyv memory)',
      async: true,
      rapide: false,
      call: (id) => manager.wrap(`customer:${id}`, async () => loadCustomer(id)),
    },
    {
      name: '@epic-web/cachified (lru-cache)',
      async: true,
      rapide: false,
      call: (id) =>
        cachified({
          key: `customer:${id}`,
          cache: lru,
          getFreshValue: () => loadCustomer(id),
          ttl: 3_600_000,
        }),
    },
  ]
}
