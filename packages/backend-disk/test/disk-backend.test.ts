import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BackendUnavailableError, ClosedError, createCache, InvalidOptionError } from '@rapide/core'
import { describe, expect, it, vi } from 'vitest'
import { DiskBackend, defaultDirectory, keyGroup, MARKER_FILE } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

const { root, next } = scratch('backend')

describe('options and the cache directory', () => {
  it('refuses an unknown option, naming it', () => {
    expect(() => new DiskBackend({ directry: next() } as never)).toThrow(
      /unknown option "directry".*directory/,
    )
    expect(() => new DiskBackend({ maxBytes: -1 })).toThrow(InvalidOptionError)
    expect(() => new DiskBackend({ directory: '' })).toThrow(InvalidOptionError)
  })

  it('defaults to RAPIDE_DISK_DIR, else node_modules/.cache/rapide/disk, else the user cache folder', () => {
    expect(defaultDirectory('/srv/app', { RAPIDE_DISK_DIR: '/var/cache/app' })).toBe('/var/cache/app')
    const project = join(root, 'project')
    mkdirSync(join(project, 'node_modules'), { recursive: true })
    expect(defaultDirectory(project, {})).toBe(join(project, 'node_modules', '.cache', 'rapide', 'disk'))
    expect(defaultDirectory(join(root, 'nowhere'), { XDG_CACHE_HOME: '/xdg' })).toBe(
      process.platform === 'linux' ? join('/xdg', 'rapide', 'disk') : expect.any(String),
    )
  })

  it('uses RAPIDE_DISK_DIR when no directory is given', () => {
    const directory = next()
    vi.stubEnv('RAPIDE_DISK_DIR', directory)
    try {
      const backend = new DiskBackend()
      expect(backend.directory).toBe(directory)
      backend.close()
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('creates the directory with its marker (subdirectories on demand); storeId is the resolved directory', () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    expect(JSON.parse(readFileSync(join(directory, MARKER_FILE), 'utf8'))).toEqual({
      format: 'rapide-disk',
      version: 1,
    })
    expect(readdirSync(directory)).toEqual([MARKER_FILE])
    backend.set('k', new Uint8Array([1]), undefined)
    expect(readdirSync(directory).filter((name) => /^[0-9a-f]{2}$/.test(name))).toHaveLength(1)
    expect(backend.storeId).toBe(`disk:${realpathSync(directory)}`)
    backend.close()
  })

  it('refuses a non-empty directory that is not a cache, and leaves its files alone', () => {
    const directory = next()
    mkdirSync(directory)
    writeFileSync(join(directory, 'thesis.tex'), 'precious')
    expect(() => new DiskBackend({ directory })).toThrow(BackendUnavailableError)
    expect(() => new DiskBackend({ directory })).toThrow(/not empty and is not a rapide disk cache/)
    expect(readdirSync(directory)).toEqual(['thesis.tex'])
  })

  it('refuses a cache of another format version', () => {
    const directory = next()
    mkdirSync(directory)
    writeFileSync(join(directory, MARKER_FILE), JSON.stringify({ format: 'rapide-disk', version: 99 }))
    expect(() => new DiskBackend({ directory })).toThrow(/format version 99/)
  })

  it('recreates its directories when the cache is deleted under it', async () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    backend.set('a', bytes('1'), undefined)
    const { rmSync } = await import('node:fs')
    rmSync(directory, { recursive: true, force: true })
    expect(backend.get('a')).toBeUndefined()
    backend.set('a', bytes('2'), undefined)
    expect(text(backend.get('a'))).toBe('2')
    expect(readdirSync(directory)).toContain(MARKER_FILE)
    backend.close()
  })
})

describe('key groups', () => {
  it('follows the Redis Cluster hash-tag rule', () => {
    expect(keyGroup('N|D:r:{{f:1:[2]}')).toBe('{f:1:[2]')
    expect(keyGroup('N|D:g:{{f:1:[2]}')).toBe('{f:1:[2]')
    expect(keyGroup('N|{D}:@g')).toBe('D')
    expect(keyGroup('N|{D}:f:f:1:@g')).toBe('D')
    expect(keyGroup('a{}b{c}')).toBe('a{}b{c}')
    expect(keyGroup('plain')).toBe('plain')
  })

  it('a key group is one file: a result and its generation, written by setGuarded, are one file', () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    const { setGuarded } = backend.accelerations()
    setGuarded(
      { key: 'N|D:g:{{f:1:[2]}', value: bytes('gen'), ttlMs: undefined },
      {
        key: 'N|D:r:{{f:1:[2]}',
        value: bytes('result'),
        ttlMs: 60_000,
      },
    )
    expect(groupFiles(directory)).toHaveLength(1)
    expect(backend.getMany(['N|D:r:{{f:1:[2]}', 'N|D:g:{{f:1:[2]}']).map(text)).toEqual(['result', 'gen'])
    // The guard holds another value: the entry is skipped.
    setGuarded(
      { key: 'N|D:g:{{f:1:[2]}', value: bytes('other'), ttlMs: undefined },
      {
        key: 'N|D:r:{{f:1:[2]}',
        value: bytes('late'),
        ttlMs: 60_000,
      },
    )
    expect(text(backend.get('N|D:r:{{f:1:[2]}'))).toBe('result')
    backend.close()
  })

  it('an empty group removes its file', () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    backend.set('x{g}1', bytes('1'), undefined)
    backend.set('y{g}2', bytes('2'), undefined)
    expect(groupFiles(directory)).toHaveLength(1)
    expect(backend.deleteMany(['x{g}1', 'y{g}2', 'z{g}3'])).toBe(2)
    expect(groupFiles(directory)).toHaveLength(0)
    backend.close()
  })
})

describe('expiry, prune and maxBytes', () => {
  it('an expired record is not served, and prune() removes it', async () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    backend.set('short', bytes('s'), 20)
    backend.set('long', bytes('l'), undefined)
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(backend.get('short')).toBeUndefined()
    expect(groupFiles(directory)).toHaveLength(2)
    expect(backend.prune()).toMatchObject({ expired: 1 })
    expect(groupFiles(directory)).toHaveLength(1)
    backend.close()
  })

  it('reclaimPrefix: prune() removes keys under the prefix written before the call, never later ones', () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    backend.set('dead:1', bytes('1'), undefined)
    backend.set('live:1', bytes('1'), undefined)
    const now = Date.now()
    while (Date.now() === now) {
      // the next millisecond: written strictly before the call
    }
    backend.accelerations().reclaimPrefix('dead:')
    const after = Date.now()
    while (Date.now() === after) {
      // and strictly after
    }
    backend.set('dead:2', bytes('2'), undefined)
    expect(backend.prune()).toMatchObject({ reclaimed: 1 })
    expect(backend.keys('').sort()).toEqual(['dead:2', 'live:1'])
    backend.close()
  })

  it('maxBytes evicts values, oldest written first, and never bookkeeping', async () => {
    const directory = next()
    const backend = new DiskBackend({ directory, maxBytes: 10_000, pruneInterval: false })
    backend.setMany([
      { key: 'generation', value: bytes('g'.repeat(100)), ttlMs: undefined, bookkeeping: true },
    ])
    for (let i = 0; i < 20; i++) {
      backend.set(`value:${i}`, new Uint8Array(1000).fill(i), undefined)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const report = backend.prune()
    expect(report.evicted).toBeGreaterThan(0)
    expect(report.bytes).toBeLessThanOrEqual(9000)
    expect(backend.get('generation')).toBeDefined()
    expect(backend.get('value:19')).toBeDefined()
    expect(backend.get('value:0')).toBeUndefined()
    backend.close()
  })
})

describe('close()', () => {
  it('every operation throws ClosedError afterwards; twice is harmless', () => {
    const backend = new DiskBackend({ directory: next() })
    const accelerations = backend.accelerations()
    backend.close()
    backend.close()
    const calls: (() => unknown)[] = [
      () => backend.get('k'),
      () => backend.set('k', bytes('v'), undefined),
      () => backend.delete('k'),
      () => backend.ping(),
      () => backend.getMany(['k']),
      () => backend.setMany([{ key: 'k', value: bytes('v'), ttlMs: undefined }]),
      () => backend.deleteMany(['k']),
      () => backend.setNx('k', bytes('v'), undefined),
      () => backend.deleteIfEquals('k', bytes('v')),
      () => backend.incr('k', 1, undefined),
      () => backend.expire('k', 10),
      () => backend.keys(''),
      () => backend.deletePrefix(''),
      () => backend.prune(),
      () =>
        accelerations.setGuarded(
          { key: 'g', value: bytes('g'), ttlMs: undefined },
          { key: 'r', value: bytes('r'), ttlMs: undefined },
        ),
      () => accelerations.reclaimPrefix('p'),
    ]
    for (const call of calls) expect(call).toThrow(ClosedError)
  })
})

describe("MISSION.md's example", () => {
  it('runs as written, with `backend: DiskBackend` (the class, its defaults from RAPIDE_DISK_DIR)', async () => {
    vi.stubEnv('RAPIDE_DISK_DIR', next())
    try {
      const data: Record<number, string> = { 1: 'Ada', 2: 'Grace' }
      const cache = createCache({
        domainKey: 'EXAMPLE_DOMAIN', // namespace for everything this cache stores
        backend: DiskBackend, // a backend class (built with its defaults / env vars) or an instance
        defaultTtl: 30, // numbers are seconds, as in every seed; strings like '500ms', '5m', '1h', '2d' too
      })
      let calls = 0
      const getCustomerName = cache.wrap('GET_CUSTOMER_NAME', (cid: number): string => {
        calls++
        return data[cid]!
      })
      const cid = 1
      expect(getCustomerName(cid)).toBe('Ada') // synchronous: sync stays sync
      expect(getCustomerName(cid)).toBe('Ada')
      expect(calls).toBe(1)
      data[1] = 'Ada L.'
      cache.invalidateResult('GET_CUSTOMER_NAME', cid) // one result: same arguments as the call
      expect(getCustomerName(cid)).toBe('Ada L.')
      cache.invalidateFunc('GET_CUSTOMER_NAME') // every result of one function
      cache.invalidateDomain() // everything in this domain
      getCustomerName.invalidate(cid) // typed shortcuts on the wrapped function
      getCustomerName.invalidateAll()
      expect(getCustomerName.refresh(cid)).toBe('Ada L.') // skip the cache read, recompute, store
      expect(calls).toBe(3)
      await cache.close()
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
