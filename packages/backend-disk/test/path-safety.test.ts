import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DiskBackend, MARKER_FILE } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

const { root, next } = scratch('paths')

const hostile = [
  '../escape',
  '../../../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\system32',
  '..\\..\\escape',
  'nul\0byte',
  '\0',
  'con',
  'aux.txt',
  '.',
  '..',
  '',
  ' ',
  'a/b/c',
  '{../up}',
  '{/abs}x',
  'x'.repeat(10_000),
  '{'.repeat(5000) + '}'.repeat(5000),
  'caf\u00e9', // NFC
  'cafe\u0301', // NFD: the same text once normalised, another key
  '\u212b', // ANGSTROM SIGN, NFC-normalises to U+00C5
  '\u00c5',
  'ﬁle', // ligature, NFKC-normalises to "file"
  'file',
  'emoji 😀 and \u202e right-to-left override',
]

describe('no key reaches a path', () => {
  it('every hostile key round-trips, each to itself, and every file stays in the 256 hex subdirectories', () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    for (const [i, key] of hostile.entries()) backend.set(key, bytes(`value ${i}`), undefined)
    for (const [i, key] of hostile.entries()) expect(text(backend.get(key))).toBe(`value ${i}`)
    expect(backend.keys('').sort()).toEqual([...hostile].sort())
    // Nothing outside the directory, nothing but the marker and the fan-out folders at its top.
    expect(readdirSync(root).every((name) => name.startsWith('cache-'))).toBe(true)
    expect(
      readdirSync(directory)
        .filter((name) => name !== MARKER_FILE)
        .every((name) => /^[0-9a-f]{2}$/.test(name)),
    ).toBe(true)
    for (const file of groupFiles(directory)) {
      const [sub, name] = file.slice(directory.length + 1).split('/')
      expect(name).toMatch(/^[0-9a-f]{64}$/)
      expect(name!.startsWith(sub!)).toBe(true)
    }
    // Unicode look-alikes stay distinct keys (no normalisation).
    expect(text(backend.get('caf\u00e9'))).not.toBe(text(backend.get('cafe\u0301')))
    expect(backend.delete('../escape')).toBe(true)
    expect(backend.get('../escape')).toBeUndefined()
    expect(text(backend.get('/etc/passwd'))).toBe(`value ${hostile.indexOf('/etc/passwd')}`)
    backend.close()
  })

  it('prefix operations treat the prefix as text, never as a path', () => {
    const directory = next()
    const backend = new DiskBackend({ directory })
    backend.set('../a', bytes('1'), undefined)
    backend.set('../b', bytes('2'), undefined)
    backend.set('c', bytes('3'), undefined)
    expect(backend.keys('../').sort()).toEqual(['../a', '../b'])
    expect(backend.deletePrefix('../')).toBe(2)
    expect(backend.keys('')).toEqual(['c'])
    expect(readdirSync(join(directory, '..')).length).toBeGreaterThan(0)
    backend.close()
  })
})
