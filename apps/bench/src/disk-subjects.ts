import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { DiskBackend } from '@rapide/backend-disk'
import { createCache as createRapide } from '@rapide/core'
import { BentoCache, bentostore } from 'bentocache'
import { fileDriver } from 'bentocache/drivers/file'
import cacache from 'cacache'
import { rawDiskCache } from './raw-disk-cache.js'
import type { Subject } from './subjects.js'
import { loadCustomer } from './workload.js'

const HOUR_MS = 3_600_000

/** A fresh folder of its own for one subject, under the system's temporary folder. */
function freshDirectory(name: string): string {
  return mkdtempSync(join(tmpdir(), `rapide-bench-disk-${name}-`))
}

/** Removes a subject's folder (misses leave tens of thousands of files: this takes a moment). */
function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true })
}

/**
 * rapide on `DiskBackend` (default options), each in its own fresh folder: wrapping the synchronous
 * function (it stays synchronous: a hit is a file read) and an asynchronous one.
 */
export function rapideDiskSubjects(): Subject[] {
  const syncDirectory = freshDirectory('rapide-sync')
  const syncBackend = new DiskBackend({ directory: syncDirectory })
  const syncCache = createRapide({ domainKey: 'BENCH', backend: syncBackend, defaultTtl: '1h' })
  const asyncDirectory = freshDirectory('rapide-async')
  const asyncBackend = new DiskBackend({ directory: asyncDirectory })
  const asyncCache = createRapide({ domainKey: 'BENCH_ASYNC', backend: asyncBackend, defaultTtl: '1h' })
  return [
    {
      name: 'rapide disk (sync fn)',
      async: false,
      rapide: true,
      call: syncCache.wrap('LOAD_CUSTOMER', loadCustomer),
      close: async () => {
        await syncCache.close()
        syncBackend.close()
        removeDirectory(syncDirectory)
      },
    },
    {
      name: 'rapide disk (async fn)',
      async: true,
      rapide: true,
      call: asyncCache.wrap('LOAD_CUSTOMER', async (id: number) => loadCustomer(id)),
      close: async () => {
        await asyncCache.close()
        asyncBackend.close()
        removeDirectory(asyncDirectory)
      },
    },
  ]
}

/**
 * The disk peers, each in its own fresh folder under the system's temporary folder (removed on close):
 *
 * - the raw file cache (see {@link rawDiskCache}): `readFileSync` + `node:v8` deserialize for a hit,
 *   write a temporary file and `renameSync` it into place for a miss — what a careful hand-written
 *   cache does, with no checksum and no invalidation: the floor;
 * - bentocache with its file driver as the only layer (an L1 memory layer would answer hits without the
 *   disk: see the memory group), no pruning worker;
 * - cacache (npm's content-addressable cache): `get` by key, `put` on a miss, `node:v8` serialized
 *   values; it has no expiry.
 */
export function diskPeerSubjects(): Subject[] {
  const rawDirectory = freshDirectory('raw')
  const raw = rawDiskCache(rawDirectory)

  const bentoDirectory = freshDirectory('bentocache')
  const bento = new BentoCache({
    default: 'file',
    stores: {
      file: bentostore().useL2Layer(fileDriver({ directory: bentoDirectory, pruneInterval: false })),
    },
  })

  const cacacheDirectory = freshDirectory('cacache')
  const cacached = async (id: number) => {
    const key = `customer:${id}`
    try {
      return deserialize((await cacache.get(cacacheDirectory, key)).data)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    const value = loadCustomer(id)
    await cacache.put(cacacheDirectory, key, serialize(value))
    return value
  }

  return [
    {
      name: 'raw readFileSync + v8, temp file + renameSync',
      async: false,
      rapide: false,
      call: raw.call,
      close: () => removeDirectory(rawDirectory),
    },
    {
      name: 'bentocache (file driver)',
      async: true,
      rapide: false,
      call: (id) => bento.getOrSet({ key: `customer:${id}`, factory: () => loadCustomer(id), ttl: HOUR_MS }),
      close: async () => {
        await bento.disconnectAll()
        removeDirectory(bentoDirectory)
      },
    },
    {
      name: 'cacache',
      async: true,
      rapide: false,
      call: cacached,
      close: () => removeDirectory(cacacheDirectory),
    },
  ]
}
