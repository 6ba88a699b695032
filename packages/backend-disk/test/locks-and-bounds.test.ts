import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { threadId } from 'node:worker_threads'
import { createCache } from '@rapide/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DiskBackend, keyGroup } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

const { next } = scratch('locks')

/** The group file of `key` in `directory` (the layout the README documents: sha256 hex, two-letter folder). */
function groupFile(directory: string, key: string): string {
  const hex = createHash('sha256').update(keyGroup(key), 'utf8').digest('hex')
  return join(directory, hex.slice(0, 2), hex)
}

const pidNamespace = (() => {
  try {
    return fs.readlinkSync('/proc/self/ns/pid').replace(/\s/g, '')
  } catch {
    return undefined
  }
})()

afterEach(() => {
  vi.restoreAllMocks()
})

describe('group locks', () => {
  it('a writer whose lock was broken and taken by another meanwhile abandons its write instead of undoing the other', () => {
    const directory = next()
    const backend = new DiskBackend({ directory, pruneInterval: false })
    backend.set('k', bytes('first'), undefined)
    const lock = `${groupFile(directory, 'k')}.lock`
    const write = fs.writeFileSync
    // Right after this writer's temp file is written: another process (another host) broke the lock,
    // took it and rewrote the group.
    vi.spyOn(fs, 'writeFileSync').mockImplementation((...args: Parameters<typeof fs.writeFileSync>) => {
      write(...args)
      if (String(args[0]).endsWith('.tmp')) write(lock, '1 another-host - nonce')
    })
    expect(() => backend.set('k', bytes('second'), undefined)).toThrow(/lock .* was broken/)
    vi.restoreAllMocks()
    expect(text(backend.get('k'))).toBe('first')
    // Its lock is not the writer's to remove: it stays for its holder.
    expect(fs.readFileSync(lock, 'latin1')).toBe('1 another-host - nonce')
  })

  it.skipIf(pidNamespace === undefined)(
    'a lock of a process of this host that is still running is waited for, never broken by age',
    () => {
      const directory = next()
      const backend = new DiskBackend({
        directory,
        pruneInterval: false,
        lockTimeout: '20ms',
        busyTimeout: '300ms',
      })
      backend.set('k', bytes('first'), undefined)
      const lock = `${groupFile(directory, 'k')}.lock`
      // Held by this very process (running), long past lockTimeout: a slow holder, not a dead one.
      fs.writeFileSync(lock, `${process.pid} ${hostname()} ${pidNamespace} slow-holder`)
      const past = new Date(Date.now() - 60_000)
      fs.utimesSync(lock, past, past)
      expect(() => backend.set('k', bytes('second'), undefined)).toThrow(
        expect.objectContaining({ code: 'E_BACKEND_TIMEOUT' }),
      )
      expect(text(backend.get('k'))).toBe('first')
      fs.rmSync(lock)
      backend.set('k', bytes('second'), undefined)
      expect(text(backend.get('k'))).toBe('second')
    },
  )

  it.skipIf(pidNamespace === undefined)(
    "a worker thread's lock of a running process is broken by age (a terminated thread leaves one); a main thread's never",
    () => {
      const directory = next()
      const backend = new DiskBackend({
        directory,
        pruneInterval: false,
        lockTimeout: '20ms',
        busyTimeout: '300ms',
      })
      backend.set('k', bytes('first'), undefined)
      const lock = `${groupFile(directory, 'k')}.lock`
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
      try {
        const old = (content: string) => {
          fs.writeFileSync(lock, content)
          const past = new Date(Date.now() - 60_000)
          fs.utimesSync(lock, past, past)
        }
        // Thread 3 of a running process: it may have been terminated mid-write, so age decides.
        old(`${sleeper.pid} ${hostname()} ${pidNamespace} nonce 3`)
        backend.set('k', bytes('second'), undefined)
        expect(text(backend.get('k'))).toBe('second')
        // The main thread (0) of a running process: running, never broken.
        old(`${sleeper.pid} ${hostname()} ${pidNamespace} nonce 0`)
        expect(() => backend.set('k', bytes('third'), undefined)).toThrow(
          expect.objectContaining({ code: 'E_BACKEND_TIMEOUT' }),
        )
        // This very thread's, which it does not hold: left by one of its writes, broken at once (young).
        fs.writeFileSync(lock, `${process.pid} ${hostname()} ${pidNamespace} nonce ${threadId}`)
        backend.set('k', bytes('fourth'), undefined)
        expect(text(backend.get('k'))).toBe('fourth')
      } finally {
        sleeper.kill()
        backend.close()
      }
    },
  )

  describe("a new group is created without a lock, and no writer loses another's records", () => {
    /** Makes another instance create the group's file right before this instance's next link into place. */
    function raceTheNextLink(other: DiskBackend) {
      const link = fs.linkSync
      let raced = false
      return vi.spyOn(fs, 'linkSync').mockImplementation((from, to) => {
        if (!raced && !String(to).endsWith('.lock')) {
          raced = true
          vi.mocked(fs.linkSync).mockRestore()
          other.set('{g}theirs', bytes('theirs'), undefined)
          vi.spyOn(fs, 'linkSync').mockImplementation(link)
        }
        return link(from, to)
      })
    }

    it('a lock-free creator that loses the race changes the file under the lock instead', () => {
      const directory = next()
      const mine = new DiskBackend({ directory, pruneInterval: false })
      const theirs = new DiskBackend({ directory, pruneInterval: false })
      theirs.set('{g}seed', bytes('s'), undefined)
      theirs.delete('{g}seed') // the group's subdirectory exists, its file does not
      raceTheNextLink(theirs)
      expect(mine.incr('{g}counter', 1, undefined)).toBe(1)
      vi.restoreAllMocks()
      expect(text(mine.get('{g}theirs'))).toBe('theirs')
      expect(text(mine.get('{g}counter'))).toBe('1')
      mine.close()
      theirs.close()
    })

    it('a lock holder that found no file links its own into place, and reads again if one appeared', () => {
      const directory = next()
      const mine = new DiskBackend({ directory, pruneInterval: false })
      const theirs = new DiskBackend({ directory, pruneInterval: false })
      theirs.set('{g}seed', bytes('s'), undefined)
      const file = groupFile(directory, '{g}seed')
      theirs.delete('{g}seed')
      // This instance sees a file at its first look (so it takes the lock), gone by the time it reads.
      const stat = fs.statSync
      let lied = false
      vi.spyOn(fs, 'statSync').mockImplementation(((path: fs.PathLike, options?: fs.StatSyncOptions) => {
        if (!lied && String(path) === file) {
          lied = true
          return stat(directory)
        }
        return stat(path, options)
      }) as typeof fs.statSync)
      raceTheNextLink(theirs)
      expect(mine.incr('{g}counter', 1, undefined)).toBe(1)
      expect(lied).toBe(true)
      vi.restoreAllMocks()
      expect(text(mine.get('{g}theirs'))).toBe('theirs')
      expect(text(mine.get('{g}counter'))).toBe('1')
      expect(groupFiles(directory).filter((path) => !/[0-9a-f]{64}$/.test(path))).toEqual([])
      mine.close()
      theirs.close()
    })
  })

  it('a lock that cannot be examined (a broken link) fails the write within busyTimeout, never spins forever', () => {
    const directory = next()
    const backend = new DiskBackend({ directory, pruneInterval: false, busyTimeout: '200ms' })
    backend.set('k', bytes('first'), undefined)
    const lock = `${groupFile(directory, 'k')}.lock`
    fs.symlinkSync(join(directory, 'nowhere'), lock)
    const started = Date.now()
    expect(() => backend.set('k', bytes('second'), undefined)).toThrow(
      expect.objectContaining({ code: 'E_BACKEND_TIMEOUT' }),
    )
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('a marker that is a broken link is refused at creation, in bounded time', () => {
    const directory = next()
    fs.mkdirSync(directory, { recursive: true })
    fs.symlinkSync(join(directory, 'nowhere'), join(directory, 'rapide-disk.json'))
    expect(() => new DiskBackend({ directory, pruneInterval: false })).toThrow(/broken link/)
  })
})

describe('maxBytes with results written through the core', () => {
  it('evicts results (whose groups also hold their generations), keeps the generations, and stays near the bound', async () => {
    const directory = next()
    const backend = new DiskBackend({ directory, pruneInterval: false, maxBytes: 20_000 })
    const cache = createCache({ domainKey: 'BOUND', backend })
    const big = cache.wrap('BIG', (n: number) => `${n}:${'x'.repeat(1000)}`)
    for (let n = 0; n < 200; n++) big(n)
    const report = backend.prune()
    expect(report.evicted).toBeGreaterThan(100)
    expect(backend.prune().bytes).toBeLessThanOrEqual(40_000)
    // Evicted results are misses, never wrong values; a cached one is still right.
    expect(big(199)).toBe(`199:${'x'.repeat(1000)}`)
    expect(big(0)).toBe(`0:${'x'.repeat(1000)}`)
    await cache.close()
  })
})
