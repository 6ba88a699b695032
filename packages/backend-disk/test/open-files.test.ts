import fs, {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { createCache } from '@rapide/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type CorruptFileReport, DiskBackend } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

// The read cache of hot group files (src/open-group-files.ts): a file read twice is kept open and in
// memory, and a later read is one stat of its path. These tests check that it is used, and that nothing
// another process (or person) does to the file is ever hidden by it.

const { next } = scratch('open-files')

afterEach(() => {
  vi.restoreAllMocks()
})

/** Descriptors this process has open (Linux: /proc/self/fd). */
function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length
}
const linux = process.platform === 'linux'

/** Two instances over one directory: what two processes see, each with its own kept files. */
function twoInstances(options: { openFiles?: number } = {}) {
  const directory = next()
  const reports: CorruptFileReport[] = []
  const onCorruptFile = (report: CorruptFileReport) => reports.push(report)
  const reader = new DiskBackend({ directory, onCorruptFile, ...options })
  const writer = new DiskBackend({ directory, onCorruptFile, ...options })
  return { directory, reader, writer, reports }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a hot group file is read from memory after one stat', () => {
  it('the third read of a group opens no file', () => {
    const { reader, writer } = twoInstances()
    writer.set('k', bytes('v1'), undefined)
    expect(text(reader.get('k'))).toBe('v1') // counted
    expect(text(reader.get('k'))).toBe('v1') // kept
    const opens = vi.spyOn(fs, 'openSync')
    const stats = vi.spyOn(fs, 'statSync')
    for (let i = 0; i < 50; i++) expect(text(reader.get('k'))).toBe('v1')
    expect(opens).not.toHaveBeenCalled()
    expect(stats).toHaveBeenCalledTimes(50)
    reader.close()
    writer.close()
  })

  it('openFiles: 0 keeps nothing: every read opens the file', () => {
    const { reader, writer } = twoInstances({ openFiles: 0 })
    writer.set('k', bytes('v1'), undefined)
    reader.get('k')
    reader.get('k')
    const opens = vi.spyOn(fs, 'openSync')
    for (let i = 0; i < 5; i++) expect(text(reader.get('k'))).toBe('v1')
    expect(opens).toHaveBeenCalledTimes(5)
    reader.close()
    writer.close()
  })

  it('a value handed out is a copy: changing it changes nothing kept', () => {
    const { reader, writer } = twoInstances()
    writer.set('k', bytes('abc'), undefined)
    reader.get('k')
    reader.get('k')
    const value = reader.get('k')!
    value[0] = 0x7a
    expect(text(reader.get('k'))).toBe('abc')
    reader.close()
    writer.close()
  })
})

describe('what others do to a kept file is seen at the next read', () => {
  it('a rewrite by another instance, a thousand times in a row: every read sees the value just written', () => {
    const { reader, writer } = twoInstances()
    for (let i = 0; i < 1000; i++) {
      writer.set('k', bytes(`v${i}`), undefined)
      expect(text(reader.get('k'))).toBe(`v${i}`)
      expect(text(reader.get('k'))).toBe(`v${i}`)
    }
    reader.close()
    writer.close()
  })

  it('a rewrite of the same length, right after (same clock tick): seen, because the path holds another file', () => {
    const { reader, writer } = twoInstances()
    writer.setMany([
      { key: '{g}a', value: bytes('aaaa'), ttlMs: undefined },
      { key: '{g}b', value: bytes('bbbb'), ttlMs: undefined },
    ])
    reader.getMany(['{g}a', '{g}b'])
    expect(reader.getMany(['{g}a', '{g}b']).map(text)).toEqual(['aaaa', 'bbbb'])
    for (let i = 0; i < 200; i++) {
      const value = String(i % 10).repeat(4)
      writer.set('{g}a', bytes(value), undefined)
      expect(reader.getMany(['{g}a', '{g}b']).map(text)).toEqual([value, 'bbbb'])
    }
    reader.close()
    writer.close()
  })

  it('a delete by another instance', () => {
    const { reader, writer } = twoInstances()
    writer.set('k', bytes('v'), undefined)
    reader.get('k')
    reader.get('k')
    expect(writer.delete('k')).toBe(true)
    expect(reader.get('k')).toBeUndefined()
    reader.close()
    writer.close()
  })

  it('the whole directory removed (rm -rf), then written again', () => {
    const { reader, writer, directory } = twoInstances()
    writer.set('k', bytes('old'), undefined)
    reader.get('k')
    reader.get('k')
    rmSync(directory, { recursive: true, force: true })
    expect(reader.get('k')).toBeUndefined()
    mkdirSync(directory)
    writer.set('k', bytes('new'), undefined)
    expect(text(reader.get('k'))).toBe('new')
    reader.close()
    writer.close()
  })

  it('the directory moved away and a fresh cache made in its place: the old files are not served', () => {
    const { reader, directory } = twoInstances()
    const first = new DiskBackend({ directory })
    first.set('k', bytes('in the old directory'), undefined)
    reader.get('k')
    reader.get('k')
    first.close()
    renameSync(directory, `${directory}-moved`)
    const fresh = new DiskBackend({ directory })
    expect(reader.get('k')).toBeUndefined()
    fresh.set('k', bytes('in the new directory'), undefined)
    expect(text(reader.get('k'))).toBe('in the new directory')
    fresh.close()
    reader.close()
  })

  it('a hard-link backup of the cache, then a rewrite: the new value (the backup keeps the old file linked)', () => {
    const { reader, writer, directory } = twoInstances()
    writer.set('k', bytes('before the backup'), undefined)
    reader.get('k')
    reader.get('k')
    const [file] = groupFiles(directory)
    linkSync(file!, join(directory, 'backup-link'))
    writer.set('k', bytes('after the backup'), undefined)
    expect(text(reader.get('k'))).toBe('after the backup')
    reader.close()
    writer.close()
  })

  it('damaged in place (same inode) after it was kept: a reported miss, never the damaged bytes', async () => {
    const { reader, writer, directory, reports } = twoInstances()
    writer.set('k', bytes('the right value'), undefined)
    reader.get('k')
    reader.get('k')
    const [file] = groupFiles(directory)
    // Past the file system's clock tick, so the change time moves (see the README on in-place changes).
    await pause(30)
    const data = readFileSync(file!)
    data[data.length - 8]! ^= 0x01
    writeFileSync(file!, data) // in place: the same inode, the same size
    expect(reader.get('k')).toBeUndefined()
    expect(reports).toHaveLength(1)
    expect(reports[0]!.reason).toBe('checksum mismatch')
    reader.close()
    writer.close()
  })

  it("another group's file swapped into place after this group was kept: never served under this key", () => {
    const { reader, writer, directory, reports } = twoInstances()
    writer.set('key', bytes('the right value'), undefined)
    reader.get('key')
    reader.get('key')
    writer.set('other', bytes('another value'), undefined)
    const files = groupFiles(directory)
    const mine = files.find((file) => readFileSync(file).includes('the right value'))!
    const theirs = files.find((file) => file !== mine)!
    renameSync(theirs, mine)
    expect(reader.get('key')).toBeUndefined()
    expect(reports.map((report) => report.reason)).toEqual([
      'holds another group (a file moved or copied into place)',
    ])
    reader.close()
    writer.close()
  })
})

describe('what keeping files costs is bounded', () => {
  it.runIf(linux)('at most openFiles descriptors, whatever is read; all closed by close()', () => {
    const { reader, writer } = twoInstances({ openFiles: 4 })
    for (let i = 0; i < 40; i++) writer.set(`k${i}`, bytes(`v${i}`), undefined)
    const before = openDescriptors()
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 40; i++) expect(text(reader.get(`k${i}`))).toBe(`v${i}`)
    }
    expect(openDescriptors() - before).toBeLessThanOrEqual(4)
    expect(openDescriptors() - before).toBeGreaterThan(0)
    reader.close()
    expect(openDescriptors()).toBe(before)
    writer.close()
  })

  it('a file over 64 KiB is read each time, never kept', () => {
    const { reader, writer } = twoInstances()
    writer.set('big', new Uint8Array(70 * 1024).fill(7), undefined)
    reader.get('big')
    reader.get('big')
    const opens = vi.spyOn(fs, 'openSync')
    expect(reader.get('big')!.byteLength).toBe(70 * 1024)
    expect(opens).toHaveBeenCalledTimes(1)
    reader.close()
    writer.close()
  })

  it('a hot group stays kept while many cold groups pass by once each', () => {
    const { reader, writer } = twoInstances({ openFiles: 2 })
    writer.set('hot', bytes('hot'), undefined)
    for (let i = 0; i < 200; i++) writer.set(`cold${i}`, bytes('cold'), undefined)
    for (let i = 0; i < 10; i++) reader.get('hot')
    for (let i = 0; i < 200; i++) {
      reader.get(`cold${i}`)
      reader.get(`cold${i}`) // read twice: a candidate, but read less often than the hot group
      reader.get('hot')
    }
    const opens = vi.spyOn(fs, 'openSync')
    expect(text(reader.get('hot'))).toBe('hot')
    expect(opens).not.toHaveBeenCalled()
    reader.close()
    writer.close()
  })

  it('openFiles must be 0 or a positive integer', () => {
    for (const openFiles of [-1, 1.5, Number.NaN, '8' as unknown as number]) {
      expect(() => new DiskBackend({ directory: next(), openFiles })).toThrow(
        /openFiles must be 0 or a positive integer/,
      )
    }
  })
})

describe('through the cache', () => {
  // Invalidations by other processes, with files kept on both sides: the multi-process stress in
  // processes.test.ts (a process wraps a function key once per store, so two caches in one process cannot).
  it('hits answer from kept files, and an invalidation at each level is seen at once', () => {
    const cache = createCache({ domainKey: 'D', backend: new DiskBackend({ directory: next() }) })
    let version = 0
    const f = cache.wrap('F', (x: number) => `${x}@${version}`)
    expect(f(1)).toBe('1@0')
    f(1)
    f(1)
    const opens = vi.spyOn(fs, 'openSync')
    expect(f(1)).toBe('1@0')
    expect(opens).not.toHaveBeenCalled()
    for (let i = 1; i <= 60; i++) {
      version = i
      if (i % 3 === 0) f.invalidate(1)
      else if (i % 3 === 1) f.invalidateAll()
      else cache.invalidateDomain()
      expect(f(1)).toBe(`1@${i}`)
      expect(f(1)).toBe(`1@${i}`)
    }
    cache.close()
  })
})
