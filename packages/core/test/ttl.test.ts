import { describe, expect, it } from 'vitest'
import { createCache, InvalidTtlError, parseTtl } from '../src/index.js'
import { SyncMapBackend } from './support/backends.js'

describe('TTL', () => {
  it('reads numbers as seconds and duration strings by unit', () => {
    expect(parseTtl(30, 't')).toBe(30_000)
    expect(parseTtl(0.5, 't')).toBe(500)
    expect(parseTtl('500ms', 't')).toBe(500)
    expect(parseTtl('30s', 't')).toBe(30_000)
    expect(parseTtl('5m', 't')).toBe(300_000)
    expect(parseTtl('1h', 't')).toBe(3_600_000)
    expect(parseTtl('2d', 't')).toBe(172_800_000)
    expect(parseTtl('1.5h', 't')).toBe(5_400_000)
  })

  it('refuses invalid TTLs with a typed error naming the option', () => {
    for (const bad of [
      0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '',
      '5',
      '5 minutes',
      '-5m',
      'm',
      '1w',
      null,
      {},
      true,
    ]) {
      expect(() => parseTtl(bad, 'defaultTtl')).toThrow(InvalidTtlError)
    }
    expect(() => parseTtl('5x', 'defaultTtl')).toThrow(/defaultTtl/)
  })

  it('invalid TTLs fail at createCache and wrap time, not at call time', () => {
    const backend = new SyncMapBackend()
    expect(() => createCache({ domainKey: 'D', backend, defaultTtl: -1 })).toThrow(InvalidTtlError)
    expect(() => createCache({ domainKey: 'D', backend, defaultTtl: '3 weeks' as never })).toThrow(
      InvalidTtlError,
    )
    const cache = createCache({ domainKey: 'D', backend })
    expect(() => cache.wrap('F', () => 1, { ttl: 0 })).toThrow(InvalidTtlError)
  })
})
