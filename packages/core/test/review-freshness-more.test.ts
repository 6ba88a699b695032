import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CorruptEntryError, createCache, v8Serializer } from '../src/index.js'
import { decodeEnvelope, encodeEnvelope } from '../src/serialization/envelope.js'
import { SharedStoreBackend } from './support/backends.js'
import { decodeEnvelope as decodeBefore } from './support/pre-timing-envelope.js'

describe('regression (review R9), was: never-die with a ttl over ~27.6 days: the refresh timer overflows and fires every millisecond', () => {
  it('real timers, ttl 30 d: one computation, not a busy loop', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    let computations = 0
    const f = cache.wrap(
      'F',
      async () => {
        computations++
        return computations
      },
      { ttl: '30d', neverDie: true },
    )
    await f()
    await new Promise((r) => setTimeout(r, 300))
    const seen = computations
    await cache.close()
    expect(seen).toBe(1)
  })
})

describe('regression (review R10), was: envelope timing', () => {
  it('stamps with ":" and newlines round-trip', () => {
    const stamp = 'a:b\n1:2\n:'
    const bytes = encodeEnvelope(v8Serializer, 'x', stamp, true, { storedAt: 123, computeMs: 4.5 })
    expect(decodeEnvelope(v8Serializer, bytes)).toEqual({
      value: 'x',
      stamp,
      async: true,
      storedAt: 123,
      computeMs: 4.5,
    })
  })

  /** A TIMED entry with a hand-written header (a valid checksum, as any writer of the backend can make). */
  function forged(timing: string): Buffer {
    const header = Buffer.from(`${v8Serializer.name}\n${timing}\nstamp`)
    const payload = v8Serializer.encode('x')
    const body = Buffer.concat([Buffer.from([0xf2, 3, 0, 0]), header, payload])
    body.writeUInt16BE(header.length, 2)
    const crc = Buffer.alloc(4)
    crc.writeUInt32LE(crc32(body))
    return Buffer.concat([body, crc])
  }
  it.each([':', ' : ', '1:Infinity', '-5:0', '0x10:0b1', '1e300:0', '12:', ':5', '1:2:3'])(
    'malformed timing %j is refused',
    (t) => {
      expect(() => decodeEnvelope(v8Serializer, forged(t))).toThrow(CorruptEntryError)
    },
  )

  it('an entry of this release is a reported miss to the release before, never a wrong value (rolling upgrade, see the changeset)', () => {
    const bytes = encodeEnvelope(v8Serializer, 'x', 's', false, { storedAt: 1, computeMs: 1 })
    expect(() => decodeBefore(v8Serializer, bytes)).toThrow(CorruptEntryError)
  })

  it('a storedAt far in the future is refused (it would stay fresh forever)', () => {
    const future = Date.now() + 10 * 86_400_000
    expect(() => decodeEnvelope(v8Serializer, forged(`${future}:1`))).toThrow(CorruptEntryError)
    expect(decodeEnvelope(v8Serializer, forged(`${Date.now()}:12.5`)).computeMs).toBe(12.5)
  })
})

describe('regression (review R11), was: fail-safe joiner (shared coordination)', () => {
  it('joins a background stale refresh that fails: error instead of the last good result', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SharedStoreBackend(new Map()) })
    let fail = false
    let calls = 0
    const gate: { release?: () => void } = {}
    const f = cache.wrap(
      'F',
      async (n: number) => {
        calls++
        if (calls > 1) await new Promise<void>((r) => (gate.release = r))
        if (fail) throw new Error('down')
        return `v${calls}-${n}`
      },
      { ttl: 0.05, staleWhileRevalidate: 0.05, failSafe: '1h' },
    )
    expect(await f(1)).toBe('v1-1')
    await new Promise((r) => setTimeout(r, 70)) // stale
    fail = true
    expect(await f(1)).toBe('v1-1') // stale answer; a refresh starts and blocks
    await new Promise((r) => setTimeout(r, 60)) // past stale window, within grace
    const answer = f(1).then(
      (v) => ({ v }),
      (e: Error) => ({ e: e.message }),
    )
    await new Promise((r) => setTimeout(r, 10))
    gate.release!()
    expect(await answer).toEqual({ v: 'v1-1' })
    await cache.close()
  })
})
