import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  type AnyBackend,
  type Cache,
  createCache,
  describeEntry,
  InvalidOptionError,
  jsonSerializer,
  type Serializer,
  signingKeyId,
} from '../src/index.js'
import { CountingStoreBackend, FullMapBackend } from './support/backends.js'

const KEY = 'describe-entry-signing-key-0123456789abcdef'
const OTHER = 'describe-entry-another-key-0123456789abcdef'

type Entries = Map<string, { value: Uint8Array; expiresAt: number }>

/** A cache over a fresh byte store, and what it stored by key. */
async function stored(
  fill: (cache: Cache<AnyBackend>) => Promise<unknown>,
  options: { sign?: { key: string }; serializer?: Serializer } = {},
) {
  const entries: Entries = new Map()
  const cache = createCache({
    domainKey: 'D',
    backend: new CountingStoreBackend(entries),
    onError: 'raise',
    ...options,
  }) as Cache<AnyBackend>
  const keys: string[] = []
  cache.on('set', ({ key }) => keys.push(key))
  await fill(cache)
  await cache.close()
  const at = (key: string) => entries.get(key)?.value
  const find = (suffix: string) => [...entries.keys()].find((key) => key.endsWith(suffix))!
  return { entries, keys, at, find }
}

function withChecksum(body: Buffer): Uint8Array {
  const out = Buffer.alloc(body.length + 4)
  body.copy(out)
  out.writeUInt32LE(crc32(body), body.length)
  return out
}

describe('describeEntry', () => {
  it('a function result: serializer, stamp, timing, async flag and value', async () => {
    const before = Date.now()
    const { keys, at } = await stored(async (cache) => {
      await cache.wrap('F', async (n: number) => ({ n, when: new Date(0) }))(7)
    })
    const entry = describeEntry(at(keys[0]!))
    expect(entry).toMatchObject({
      kind: 'result',
      serializer: 'v8',
      async: true,
      decoded: true,
      value: { n: 7, when: new Date(0) },
    })
    expect(entry.stamp).toMatch(/\./)
    expect(entry.storedAt).toBeGreaterThanOrEqual(before)
    expect(entry.storedAt).toBeLessThanOrEqual(Date.now())
    expect(entry.computeMs).toBeGreaterThanOrEqual(0)
    expect(entry.size).toBe(at(keys[0]!)!.length)
    expect(entry.signedBy).toBeUndefined()
    expect(entry.verified).toBeUndefined()
    expect(entry.problem).toBeUndefined()
  })

  it('key-value values, counters and tokens', async () => {
    const { at, find, entries } = await stored(async (cache) => {
      await cache.set('user', { name: 'Ada' })
      await cache.incr('visits', 5)
      await cache.wrap('F', (n: number) => n)(1)
      await cache.invalidateFunc('F')
    })
    expect(describeEntry(at(find(':user')))).toMatchObject({
      kind: 'key-value',
      serializer: 'v8',
      stamp: '',
      async: false,
      decoded: true,
      value: { name: 'Ada' },
    })
    expect(describeEntry(at(find(':user'))).storedAt).toBeUndefined()
    expect(describeEntry(at(find(':visits')))).toEqual({ kind: 'counter', size: 1, decoded: true, value: 5 })
    // Generations (random tokens) and the invalidation marker are tokens.
    const tokens = [...entries.values()]
      .map(({ value }) => describeEntry(value))
      .filter((entry) => entry.kind === 'token')
    expect(tokens.length).toBeGreaterThanOrEqual(2)
    for (const token of tokens) expect(token.value).toMatch(/^(!\w+~)?[\w-]+$/)
    expect(describeEntry(undefined)).toEqual({ kind: 'absent', size: 0, decoded: false })
  })

  it('values of an in-process backend are described as they are held', () => {
    const backend = new FullMapBackend(false)
    const cache = createCache({ domainKey: 'D', backend })
    const keys: string[] = []
    cache.on('set', ({ key }) => keys.push(key))
    cache.wrap('F', (n: number) => n * 2)(21)
    cache.set('k', 'v')
    const result = describeEntry(backend.get(keys[0]!))
    expect(result).toMatchObject({ kind: 'result', decoded: true, value: 42, async: false })
    const value = describeEntry(backend.get([...backend.data.keys()].find((key) => key.endsWith(':k'))!))
    expect(value).toMatchObject({ kind: 'key-value', decoded: true, value: 'v' })
  })

  it('finds the json serializer by name; an unknown serializer leaves the value undecoded, saying why', async () => {
    const { keys, at } = await stored(
      async (cache) => {
        await cache.wrap('F', (n: number) => ({ n }))(1)
      },
      { serializer: jsonSerializer },
    )
    expect(describeEntry(at(keys[0]!))).toMatchObject({ serializer: 'json', decoded: true, value: { n: 1 } })
    const custom: Serializer = {
      name: 'upper',
      encode: (value) => Buffer.from(String(value).toUpperCase()),
      decode: (bytes) => Buffer.from(bytes).toString(),
    }
    const { keys: customKeys, at: customAt } = await stored(
      async (cache) => {
        await cache.wrap('F', () => 'hello')()
      },
      { serializer: custom },
    )
    const unknown = describeEntry(customAt(customKeys[0]!))
    expect(unknown).toMatchObject({ kind: 'result', serializer: 'upper', decoded: false })
    expect(unknown.problem).toMatch(/serializer "upper".*options\.serializer/)
    expect(describeEntry(customAt(customKeys[0]!), { serializer: custom })).toMatchObject({
      decoded: true,
      value: 'HELLO',
    })
  })

  it('signed entries: key id, and with sign and key whether the signature verifies', async () => {
    const { keys, at } = await stored(
      async (cache) => {
        const f = cache.wrap('F', (n: number) => `secret ${n}`)
        await f(1)
        await f(2)
      },
      { sign: { key: KEY } },
    )
    const [one, two] = keys as [string, string]
    expect(describeEntry(at(one))).toMatchObject({
      signedBy: signingKeyId(KEY),
      decoded: true,
      value: 'secret 1',
    })
    expect(describeEntry(at(one), { sign: { key: KEY }, key: one })).toMatchObject({
      signedBy: signingKeyId(KEY),
      verified: true,
      decoded: true,
      value: 'secret 1',
    })
    // Read under another key (moved), or checked with a key that did not sign it: no value.
    const moved = describeEntry(at(one), { sign: { key: KEY }, key: two })
    expect(moved).toMatchObject({ kind: 'result', verified: false, decoded: false })
    expect(moved.value).toBeUndefined()
    expect(moved.problem).toMatch(/does not match/)
    const foreign = describeEntry(at(one), { sign: { key: OTHER }, key: one })
    expect(foreign).toMatchObject({ verified: false, decoded: false })
    expect(foreign.problem).toContain(signingKeyId(KEY))
    expect(describeEntry(at(one), { sign: { key: OTHER, acceptedKeys: [KEY] }, key: one }).verified).toBe(
      true,
    )
    // Without the storage key it cannot verify, and says so.
    const noKey = describeEntry(at(one), { sign: { key: KEY } })
    expect(noKey.verified).toBeUndefined()
    expect(noKey.problem).toMatch(/options\.key/)
    // An unsigned entry checked against a sign option.
    const { keys: plainKeys, at: plainAt } = await stored(async (cache) => {
      await cache.wrap('F', (n: number) => n)(1)
    })
    const unsigned = describeEntry(plainAt(plainKeys[0]!), { sign: { key: KEY }, key: plainKeys[0]! })
    expect(unsigned).toMatchObject({ verified: false, decoded: false })
    expect(unsigned.problem).toMatch(/not signed/)
  })

  it('never throws on bad bytes: corrupt, with the reason', async () => {
    const { keys, at } = await stored(async (cache) => {
      await cache.wrap('F', (n: number) => ({ n }))(1)
    })
    const good = Buffer.from(at(keys[0]!)!)
    const flipped = Buffer.from(good)
    flipped[flipped.length - 6]! ^= 0xff
    const badPayload = withChecksum(
      Buffer.concat([good.subarray(0, 4 + good.readUInt16BE(2)), Buffer.from([0xff, 0x0f, 0xff])]),
    )
    const cases: [unknown, RegExp][] = [
      [flipped, /checksum mismatch/],
      [good.subarray(0, 6), /not a rapide entry|checksum/],
      [Buffer.from([0xf1, 0, 0, 0]), /format before checksums/],
      [badPayload, /payload does not decode/],
      [withChecksum(Buffer.from([0xf2, 0x80, 0, 0])), /unknown flags/],
      [withChecksum(Buffer.from([0xf2, 0x04, 0, 0])), /truncated signature/],
      [Buffer.from('not a token: spaces!'), /not a rapide entry/],
      [new Uint8Array(0), /not a rapide entry/],
      [{ an: 'object' }, /expected bytes/],
    ]
    for (const [input, reason] of cases) {
      const entry = describeEntry(input)
      expect(entry.kind).toBe('corrupt')
      expect(entry.decoded).toBe(false)
      expect(entry.problem).toMatch(reason)
    }
    // A corrupt payload still shows what its header says.
    expect(describeEntry(badPayload)).toMatchObject({
      kind: 'corrupt',
      serializer: 'v8',
      stamp: expect.any(String),
    })
  })

  it('invalid options are typed errors', () => {
    expect(() => describeEntry(undefined, { sign: { key: 'short' } })).toThrow(InvalidOptionError)
    expect(() => describeEntry(undefined, { sign: { key: 'short' } })).toThrow(/describeEntry.*openssl rand/)
  })
})
