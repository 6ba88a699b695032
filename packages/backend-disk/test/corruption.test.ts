import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { createCache } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { type CorruptFileReport, DiskBackend } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

const { next } = scratch('corruption')

function setUp() {
  const directory = next()
  const reports: CorruptFileReport[] = []
  const backend = new DiskBackend({ directory, onCorruptFile: (report) => reports.push(report) })
  backend.set('key', bytes('the right value'), undefined)
  const [file] = groupFiles(directory)
  return { directory, backend, reports, file: file! }
}

describe('a damaged file is a reported miss, and is removed', () => {
  const damages: [string, (data: Buffer) => Buffer][] = [
    ['truncated', (data) => data.subarray(0, data.length - 7)],
    ['truncated to nothing', () => Buffer.alloc(0)],
    ['a flipped bit in the value', (data) => flip(data, data.length - 8)],
    ['a flipped bit in the header', (data) => flip(data, 5)],
    ['a flipped bit in the checksum', (data) => flip(data, data.length - 1)],
    ['bytes appended', (data) => Buffer.concat([data, Buffer.from('tail')])],
    ['not a cache file', () => Buffer.from('{"hello":"world"}')],
  ]
  for (const [name, damage] of damages) {
    it(name, () => {
      const { backend, reports, file } = setUp()
      writeFileSync(file, damage(readFileSync(file)))
      expect(backend.get('key')).toBeUndefined()
      expect(reports).toHaveLength(1)
      expect(reports[0]!.file).toBe(file)
      expect(groupFiles(backend.directory)).toHaveLength(0)
      // The key works again.
      backend.set('key', bytes('new'), undefined)
      expect(text(backend.get('key'))).toBe('new')
      backend.close()
    })
  }

  it("another group's file swapped into place is never served under this key", () => {
    const { backend, reports, directory } = setUp()
    backend.set('other', bytes('another value'), undefined)
    const [a, b] = groupFiles(directory)
    const aBytes = readFileSync(a!)
    renameSync(b!, a!) // a's place now holds b's file (valid checksum, other group)
    writeFileSync(b!, aBytes) // and the other way round
    expect(backend.get('key')).toBeUndefined()
    expect(backend.get('other')).toBeUndefined()
    expect(backend.getMany(['key', 'other'])).toEqual([undefined, undefined])
    expect(reports.map((report) => report.reason)).toEqual([
      expect.stringMatching(/another group/),
      expect.stringMatching(/another group/),
    ])
    expect(groupFiles(directory)).toHaveLength(0)
    backend.close()
  })

  it('a file made to pass its checksum with a malformed record: a reported miss, removed, never a crash', () => {
    const { backend, reports, file } = setUp()
    for (const read of [() => backend.get('key'), () => backend.getMany(['key', 'key'])[0]]) {
      const data = Buffer.from(readFileSync(file))
      // The first record's value length (at 16 + group length + 21), made longer than the file.
      const at = 16 + data.readUInt32LE(8) + 21
      data.writeUInt32LE(data.readUInt32LE(at) + 1000, at)
      data.writeUInt32LE(crc32(data.subarray(0, data.length - 4)), data.length - 4)
      writeFileSync(file, data)
      expect(read()).toBeUndefined()
      expect(reports.at(-1)).toEqual({ file, reason: 'malformed record' })
      expect(groupFiles(backend.directory)).toHaveLength(0)
      backend.set('key', bytes('the right value'), undefined)
    }
    expect(reports).toHaveLength(2)
    backend.close()
  })

  it('prune() removes damaged files too', () => {
    const { backend, file } = setUp()
    writeFileSync(file, flip(readFileSync(file), 20))
    expect(backend.prune()).toMatchObject({ damaged: 1 })
    expect(groupFiles(backend.directory)).toHaveLength(0)
    backend.close()
  })

  it('a write over a damaged group starts it afresh', () => {
    const { backend, reports, file } = setUp()
    writeFileSync(file, flip(readFileSync(file), 20))
    backend.set('key', bytes('rewritten'), undefined)
    expect(reports).toHaveLength(1)
    expect(text(backend.get('key'))).toBe('rewritten')
    backend.close()
  })

  it('a wrapped function over damaged files computes again, never returns a wrong value', () => {
    const directory = next()
    const backend = new DiskBackend({ directory, onCorruptFile: () => undefined })
    const cache = createCache({ domainKey: 'CORRUPT', backend, onError: 'raise' })
    let calls = 0
    const square = cache.wrap('SQUARE', (n: number) => {
      calls++
      return n * n
    })
    for (let n = 0; n < 20; n++) square(n)
    for (const [i, file] of groupFiles(directory).entries()) {
      const data = readFileSync(file)
      writeFileSync(file, i % 2 === 0 ? flip(data, data.length - 6) : data.subarray(0, data.length >> 1))
    }
    for (let n = 0; n < 20; n++) expect(square(n)).toBe(n * n)
    expect(calls).toBeGreaterThan(20)
    for (let n = 0; n < 20; n++) expect(square(n)).toBe(n * n)
    void cache.close()
  })
})

function flip(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data)
  copy[at] = copy[at]! ^ 0x10
  return copy
}
