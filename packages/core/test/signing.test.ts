import { createHmac, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type AnyBackend,
  type Cache,
  CorruptEntryError,
  createCache,
  InvalidOptionError,
  SignatureError,
  type SignOptions,
  signingKeyId,
  v8Serializer,
} from '../src/index.js'
import { decodeEnvelope, encodeEnvelope } from '../src/serialization/envelope.js'
import { Signer } from '../src/serialization/signing.js'
import { CountingStoreBackend, FullMapBackend } from './support/backends.js'

const OLD = 'old-signing-key-0123456789abcdef0123456789'
const NEW = 'new-signing-key-0123456789abcdef0123456789'
const OTHER = 'an-attacker-key-0123456789abcdef0123456789'

type Entries = Map<string, { value: Uint8Array; expiresAt: number }>

/** What a signed entry looks like on the store: where its parts are. */
function layout(entry: Uint8Array) {
  const bytes = Buffer.from(entry)
  const headerEnd = 4 + bytes.readUInt16BE(2)
  const signed = (bytes[1]! & 4) !== 0
  const payloadEnd = bytes.length - 4 - (signed ? 36 : 0)
  return {
    bytes,
    headerEnd,
    payloadEnd,
    signed,
    keyId: signed ? bytes.toString('hex', payloadEnd, payloadEnd + 4) : undefined,
  }
}

/** `body` followed by its CRC-32 (LE): what a forger with store access writes, so the checksum passes. */
function withChecksum(body: Buffer): Uint8Array {
  const out = Buffer.alloc(body.length + 4)
  body.copy(out)
  out.writeUInt32LE(crc32(body), body.length)
  return new Uint8Array(out)
}

/** The entry with another payload (a valid serialization of `value`), its signature kept, the CRC recomputed. */
function withPayload(entry: Uint8Array, value: unknown): Uint8Array {
  const { bytes, headerEnd, payloadEnd } = layout(entry)
  const trailer = bytes.subarray(payloadEnd, bytes.length - 4)
  return withChecksum(
    Buffer.concat([bytes.subarray(0, headerEnd), Buffer.from(v8Serializer.encode(value)), trailer]),
  )
}

/** The entry with its header's stamp replaced, signature kept, CRC recomputed. */
function withStamp(entry: Uint8Array, stamp: string): Uint8Array {
  const { bytes, headerEnd, payloadEnd } = layout(entry)
  const header = bytes.toString('utf8', 4, headerEnd)
  const newHeader = Buffer.from(`${header.slice(0, header.lastIndexOf('\n') + 1)}${stamp}`)
  const prefix = Buffer.from([bytes[0]!, bytes[1]!, 0, 0])
  prefix.writeUInt16BE(newHeader.length, 2)
  return withChecksum(
    Buffer.concat([
      prefix,
      newHeader,
      bytes.subarray(headerEnd, payloadEnd),
      bytes.subarray(payloadEnd, bytes.length - 4),
    ]),
  )
}

/** The entry as an unsigned one: signature cut off, flag cleared, CRC recomputed. */
function stripped(entry: Uint8Array): Uint8Array {
  const { bytes, payloadEnd } = layout(entry)
  const body = Buffer.from(bytes.subarray(0, payloadEnd))
  body[1] = body[1]! & ~4
  return withChecksum(body)
}

const open: Cache<AnyBackend>[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((cache) => cache.close()))
})

/** A cache over a shared byte store (`entries`), as one process of a deployment sees it. */
function cacheOver(entries: Entries, sign?: SignOptions, domainKey = 'D') {
  const cache = createCache({
    domainKey,
    backend: new CountingStoreBackend(entries),
    ...(sign === undefined ? {} : { sign }),
  }) as Cache<AnyBackend>
  open.push(cache)
  const errors: unknown[] = []
  const stored: string[] = []
  cache.on('error', ({ operation, error }) => {
    expect(operation).toBe('decode')
    errors.push(error)
  })
  cache.on('set', ({ key }) => stored.push(key))
  return { cache, errors, stored }
}

function signatureErrors(errors: unknown[]) {
  return errors.map((error) => {
    expect(error).toBeInstanceOf(SignatureError)
    expect(error).toBeInstanceOf(CorruptEntryError)
    return (error as SignatureError).reason
  })
}

describe('the MAC', () => {
  it('is HMAC-SHA256 (as createHmac computes it) over the tag, the length-prefixed storage key and the entry', () => {
    for (const keyLength of [32, 63, 64, 65, 200]) {
      const key = randomBytes(keyLength)
      const signer = new Signer({ key })
      for (const [storageKey, entryLength] of [
        ['|D:r:{F:1:[1]}', 40],
        ['préfixe|DOMAINE:k:1:clé ✓', 3000],
        ['', 0],
      ] as const) {
        const out = randomBytes(entryLength + 36)
        signer.sign(storageKey, out, entryLength)
        const length = Buffer.alloc(4)
        length.writeUInt32BE(Buffer.byteLength(storageKey))
        const expected = createHmac('sha256', key)
          .update('rapide signed entry v1\0')
          .update(length)
          .update(storageKey)
          .update(out.subarray(0, entryLength + 4))
          .digest()
        expect(out.subarray(entryLength, entryLength + 4).toString('hex')).toBe(signingKeyId(key))
        expect(out.subarray(entryLength + 4).equals(expected)).toBe(true)
        expect(() => signer.verify(storageKey, out, entryLength)).not.toThrow()
        out[entryLength + 35]! ^= 1
        expect(() => signer.verify(storageKey, out, entryLength)).toThrow(SignatureError)
      }
    }
  })
})

describe('signed entries', () => {
  it('every single-byte change, its checksum recomputed, is refused: never decoded to another value', () => {
    const signer = new Signer({ key: OLD })
    const key = '|D:r:{F:1:[1]}'
    const entry = encodeEnvelope(
      v8Serializer,
      { id: 1, role: 'reader' },
      'a.b.c',
      true,
      { storedAt: Date.now(), computeMs: 2 },
      signer,
      key,
    )
    expect(decodeEnvelope(v8Serializer, entry, true, signer, key).value).toEqual({ id: 1, role: 'reader' })
    let tried = 0
    for (let at = 0; at < entry.length - 4; at++) {
      for (const flip of [0x01, 0x04, 0x80, 0xff]) {
        const changed = Buffer.from(entry.subarray(0, entry.length - 4))
        changed[at]! ^= flip
        expect(() => decodeEnvelope(v8Serializer, withChecksum(changed), true, signer, key)).toThrow(
          CorruptEntryError,
        )
        tried++
      }
    }
    expect(tried).toBe((entry.length - 4) * 4)
    // The same bytes under another storage key, or with a key that did not sign them.
    expect(() => decodeEnvelope(v8Serializer, entry, true, signer, '|D:r:{F:1:[2]}')).toThrow(SignatureError)
    expect(() => decodeEnvelope(v8Serializer, entry, true, new Signer({ key: NEW }), key)).toThrow(
      /neither sign.key/,
    )
  })
})

describe('sign option', () => {
  it('refuses a key under 32 bytes, saying how to generate one, before opening the backend', () => {
    let built = 0
    class Counted extends CountingStoreBackend {
      constructor() {
        super(new Map())
        built++
      }
    }
    for (const sign of [
      { key: 'short' },
      { key: new Uint8Array(31) },
      { key: OLD, acceptedKeys: ['tiny'] },
    ]) {
      expect(() => createCache({ domainKey: 'D', backend: Counted, sign })).toThrow(InvalidOptionError)
      expect(() => createCache({ domainKey: 'D', backend: Counted, sign })).toThrow(/openssl rand -base64 32/)
    }
    expect(built).toBe(0)
  })

  it('refuses malformed sign options with typed errors', () => {
    const backend = new CountingStoreBackend(new Map())
    for (const sign of [
      'a-key-given-directly-0123456789abcdef',
      { key: 42 },
      {},
      { key: OLD, acceptedKeys: NEW },
      { key: OLD, acceptedKey: [NEW] },
      null,
    ]) {
      expect(() => createCache({ domainKey: 'D', backend, sign: sign as never })).toThrow(InvalidOptionError)
    }
    expect(() =>
      createCache({ domainKey: 'D', backend, sign: { key: OLD, acceptedKey: [NEW] } as never }),
    ).toThrow(/sign.*acceptedKey.*did you mean "acceptedKeys"/)
  })

  it('signs what it writes with the key id of sign.key', async () => {
    const entries: Entries = new Map()
    const { cache, stored } = cacheOver(entries, { key: OLD, acceptedKeys: [NEW] })
    await cache.wrap('F', (n: number) => ({ n }))(1)
    await cache.set('k', 'v')
    const results = [...entries].filter(([key]) => stored.includes(key) || key.endsWith('k:1:k'))
    expect(results.length).toBeGreaterThanOrEqual(1)
    for (const [, { value }] of entries) {
      const { signed, keyId } = layout(value)
      if (value[0] !== 0xf2) continue // generations and tokens are text, unsigned
      expect(signed).toBe(true)
      expect(keyId).toBe(signingKeyId(OLD))
    }
    expect(signingKeyId(OLD)).toMatch(/^[0-9a-f]{8}$/)
    expect(signingKeyId(OLD)).not.toBe(signingKeyId(NEW))
  })

  it('a cache without sign reads signed entries (it trusts its store); one with sign refuses unsigned ones', async () => {
    const entries: Entries = new Map()
    const signed = cacheOver(entries, { key: OLD })
    const plain = cacheOver(entries)
    await signed.cache.set('a', { from: 'signed' })
    expect(await plain.cache.get('a')).toEqual({ from: 'signed' })
    await plain.cache.set('b', { from: 'plain' })
    expect(await signed.cache.get('b')).toBeUndefined()
    expect(signatureErrors(signed.errors)).toEqual(['unsigned'])
    expect(signed.errors[0]).toMatchObject({ code: 'E_BAD_SIGNATURE' })
    expect(plain.errors).toEqual([])
  })

  it('accepted on an in-process backend, where there are no bytes to sign', async () => {
    const cache = createCache({ domainKey: 'D', backend: new FullMapBackend(false), sign: { key: OLD } })
    open.push(cache as Cache<AnyBackend>)
    let calls = 0
    const f = cache.wrap('F', (n: number) => ++calls + n)
    expect(f(1)).toBe(2)
    expect(f(1)).toBe(2)
    cache.set('k', 'v')
    expect(cache.get('k')).toBe('v')
  })
})

describe('signed function results', () => {
  it('a forged payload (checksum recomputed) is a reported miss, never the forged value', async () => {
    const entries: Entries = new Map()
    const { cache, errors, stored } = cacheOver(entries, { key: OLD })
    let calls = 0
    const f = cache.wrap('F', (n: number) => ({ n, calls: ++calls }))
    await f(1)
    const key = stored[0]!
    const entry = entries.get(key)!
    entry.value = withPayload(entry.value, { n: 1, calls: 999, admin: true })
    expect(await f(1)).toEqual({ n: 1, calls: 2 })
    expect(signatureErrors(errors)).toEqual(['mismatch'])
    expect((errors[0] as SignatureError).keyId).toBe(signingKeyId(OLD))
    // The recomputed result replaced the forgery and verifies.
    expect(await f(1)).toEqual({ n: 1, calls: 2 })
    expect(errors).toHaveLength(1)
  })

  it('a forged stamp, a stripped signature and a signature by another key are refused', async () => {
    const entries: Entries = new Map()
    const { cache, errors, stored } = cacheOver(entries, { key: OLD })
    let calls = 0
    const f = cache.wrap('F', (_n: number) => ++calls)
    await f(1)
    const key = stored[0]!
    const original = entries.get(key)!.value
    // An entry signed by another key for the very same storage key (same domain, function, arguments).
    const elsewhere: Entries = new Map()
    const attacker = cacheOver(elsewhere, { key: OTHER })
    await attacker.cache.wrap('F', (_n: number) => -1)(1)
    const foreign = elsewhere.get(attacker.stored[0]!)!.value
    expect(attacker.stored[0]).toBe(key)
    for (const forged of [withStamp(original, 'x.y.z'), stripped(original), foreign]) {
      entries.get(key)!.value = forged
      await f(1)
    }
    expect(signatureErrors(errors)).toEqual(['mismatch', 'unsigned', 'unknown-key'])
    expect((errors[2] as SignatureError).keyId).toBe(signingKeyId(OTHER))
    expect(calls).toBe(4)
  })

  it('an entry copied to another argument list, function or domain does not verify there', async () => {
    const entries: Entries = new Map()
    const a = cacheOver(entries, { key: OLD }, 'A')
    const b = cacheOver(entries, { key: OLD }, 'B')
    const f = a.cache.wrap('F', (n: number) => `F(${n}) in A`)
    const g = a.cache.wrap('G', (n: number) => `G(${n}) in A`)
    const h = b.cache.wrap('F', (n: number) => `F(${n}) in B`)
    for (const call of [() => f(1), () => f(2), () => g(1), () => h(1)]) await call()
    const [f1, f2, g1, h1] = a.stored.concat(b.stored)
    const secret = entries.get(f1!)!.value
    for (const target of [f2!, g1!, h1!]) entries.get(target)!.value = secret
    expect(await f(2)).toBe('F(2) in A')
    expect(await g(1)).toBe('G(1) in A')
    expect(await h(1)).toBe('F(1) in B')
    expect(signatureErrors(a.errors.concat(b.errors))).toEqual(['mismatch', 'mismatch', 'mismatch'])
  })

  it('an older signed entry of the same key is refused once an invalidation moved past it', async () => {
    const entries: Entries = new Map()
    const { cache, stored } = cacheOver(entries, { key: OLD })
    let version = 1
    const f = cache.wrap('F', (_n: number) => `v${version}`)
    expect(await f(1)).toBe('v1')
    const old = entries.get(stored[0]!)!.value
    version = 2
    await cache.invalidateResult('F', 1)
    expect(await f(1)).toBe('v2')
    // Replayed: it verifies (same key, unaltered), but its signed stamp names the old generation.
    entries.get(stored[0]!)!.value = old
    expect(await f(1)).toBe('v2')
  })

  it('fail-safe and stale-while-revalidate never answer a forged stale result', async () => {
    const entries: Entries = new Map()
    const { cache, errors, stored } = cacheOver(entries, { key: OLD })
    let fail = false
    let calls = 0
    const f = cache.wrap(
      'F',
      async (n: number) => {
        calls++
        if (fail) throw new Error('source down')
        return { n, calls }
      },
      { ttl: '30ms', failSafe: '1h' },
    )
    expect(await f(1)).toEqual({ n: 1, calls: 1 })
    await new Promise((resolve) => setTimeout(resolve, 60))
    fail = true
    // The kept result is signed and verifies: fail-safe answers it.
    expect(await f(1)).toEqual({ n: 1, calls: 1 })
    expect(errors).toEqual([])
    const entry = entries.get(stored[0]!)!
    entry.value = withPayload(entry.value, { n: 1, calls: 666 })
    await expect(f(1)).rejects.toThrow('source down')
    expect(signatureErrors(errors)).toEqual(['mismatch'])

    const swr = cache.wrap('S', async (n: number) => ({ n, at: ++calls }), {
      ttl: '30ms',
      staleWhileRevalidate: '1h',
    })
    const first = await swr(1)
    await new Promise((resolve) => setTimeout(resolve, 60))
    const key = stored.at(-1)!
    const stale = entries.get(key)!
    stale.value = withPayload(stale.value, { n: 1, at: -1 })
    const answer = await swr(1)
    expect(answer).not.toEqual({ n: 1, at: -1 })
    expect(answer.at).toBeGreaterThan(first.at)
    expect(signatureErrors(errors)).toEqual(['mismatch', 'mismatch'])
  })
})

/** A synchronous store of bytes one process uses (local coordination, with bytes: the engine's other read path). */
class LocalBytesBackend extends FullMapBackend {
  constructor() {
    super(true)
    ;(this as { capabilities: FullMapBackend['capabilities'] }).capabilities = {
      sync: true,
      persistent: false,
      shared: false,
      inProcessValues: false,
    }
  }
}

describe.each([
  ['synchronous shared store (as SQLite, disk)', () => new FullMapBackend(true)],
  ['synchronous store of one process (local coordination)', () => new LocalBytesBackend()],
])('signed results on a %s', (_name, create) => {
  it('a forged or moved entry is a reported miss', () => {
    const backend = create()
    const cache = createCache({ domainKey: 'D', backend, sign: { key: OLD } })
    open.push(cache as Cache<AnyBackend>)
    const errors: unknown[] = []
    const stored: string[] = []
    cache.on('error', ({ error }) => errors.push(error))
    cache.on('set', ({ key }) => stored.push(key))
    let calls = 0
    const f = cache.wrap('F', (n: number) => ({ n, calls: ++calls }))
    expect(f(1)).toEqual({ n: 1, calls: 1 })
    expect(f(2)).toEqual({ n: 2, calls: 2 })
    expect(f(1)).toEqual({ n: 1, calls: 1 })
    const entry = backend.data.get(stored[0]!)!
    entry.value = withPayload(entry.value as Uint8Array, { n: 1, calls: 0 })
    expect(f(1)).toEqual({ n: 1, calls: 3 })
    backend.data.get(stored[1]!)!.value = backend.data.get(stored[2]!)!.value
    expect(f(2)).toEqual({ n: 2, calls: 4 })
    expect(signatureErrors(errors)).toEqual(['mismatch', 'mismatch'])
  })
})

describe('signed key-value values', () => {
  it('get, getMany and setNx/setMany values are signed for their key; a swapped value is a miss', async () => {
    const entries: Entries = new Map()
    const { cache, errors } = cacheOver(entries, { key: OLD })
    await cache.set('role:alice', 'admin')
    await cache.setMany({ 'role:bob': 'reader', 'role:carol': 'reader' })
    expect(await cache.setNx('role:dave', 'reader')).toBe(true)
    const keyOf = (name: string) => [...entries.keys()].find((key) => key.endsWith(`:${name}`))!
    expect(await cache.getMany(['role:alice', 'role:bob', 'role:carol', 'role:dave'])).toEqual([
      'admin',
      'reader',
      'reader',
      'reader',
    ])
    for (const name of ['role:bob', 'role:carol', 'role:dave']) {
      entries.get(keyOf(name))!.value = entries.get(keyOf('role:alice'))!.value
    }
    expect(await cache.get('role:bob')).toBeUndefined()
    expect(await cache.getMany(['role:carol', 'role:dave'])).toEqual([undefined, undefined])
    expect(await cache.get('role:alice')).toBe('admin')
    expect(signatureErrors(errors)).toEqual(['mismatch', 'mismatch', 'mismatch'])
  })

  it('without sign, the same swap is served: what signing adds', async () => {
    const entries: Entries = new Map()
    const { cache } = cacheOver(entries)
    await cache.set('role:alice', 'admin')
    await cache.set('role:bob', 'reader')
    const keyOf = (name: string) => [...entries.keys()].find((key) => key.endsWith(`:${name}`))!
    entries.get(keyOf('role:bob'))!.value = entries.get(keyOf('role:alice'))!.value
    expect(await cache.get('role:bob')).toBe('admin')
  })

  it('counters stay plain text (incr), readable by get', async () => {
    const entries: Entries = new Map()
    const { cache, errors } = cacheOver(entries, { key: OLD })
    expect(await cache.incr('hits')).toBe(1)
    expect(await cache.incr('hits', 2)).toBe(3)
    expect(await cache.get('hits')).toBe(3)
    expect(errors).toEqual([])
  })
})

describe('key rotation', () => {
  /** Two instances of a rolling deploy over one store: each reads what the other wrote. */
  async function crossRead(first: SignOptions, second: SignOptions) {
    const entries: Entries = new Map()
    const a = cacheOver(entries, first)
    const b = cacheOver(entries, second)
    let computed = 0
    const times10 = (n: number) => {
      computed++
      return n * 10
    }
    const fa = a.cache.wrap('F', times10)
    const fb = b.cache.wrap('F', times10)
    await fa(1)
    await fb(1)
    await fb(2)
    await fa(2)
    await a.cache.set('k', 'from a')
    const readByB = await b.cache.get('k')
    return { computed, readByB, errors: [...a.errors, ...b.errors] }
  }

  it('in three steps no two neighbouring deploy states refuse each other', async () => {
    const states: SignOptions[] = [
      { key: OLD },
      { key: OLD, acceptedKeys: [NEW] },
      { key: NEW, acceptedKeys: [OLD] },
      { key: NEW },
    ]
    // Steps 1 and 2 (0 → 1, 1 → 2): old and new instances run side by side. Step 3 (2 → 3) comes after
    // the longest ttl, once no entry signed by the old key is left (next test).
    for (let i = 0; i < 2; i++) {
      const pairs: [SignOptions, SignOptions][] = [
        [states[i]!, states[i + 1]!],
        [states[i + 1]!, states[i]!],
      ]
      for (const [first, second] of pairs) {
        const { computed, readByB, errors } = await crossRead(first, second)
        expect(errors).toEqual([])
        expect(computed).toBe(2)
        expect(readByB).toBe('from a')
      }
    }
  })

  it('the last step waits for the longest ttl: entries signed by the old key are then refused', async () => {
    const { computed, errors } = await crossRead({ key: OLD, acceptedKeys: [NEW] }, { key: NEW })
    expect(computed).toBe(3)
    expect(signatureErrors(errors)).toEqual(['unknown-key', 'unknown-key'])
    expect((errors[0] as SignatureError).keyId).toBe(signingKeyId(OLD))
  })

  it('skipping the first step makes instances refuse each other', async () => {
    const { computed, errors } = await crossRead({ key: OLD }, { key: NEW, acceptedKeys: [OLD] })
    // b (new) accepts a's entries; a (old) refuses b's.
    expect(computed).toBe(3)
    expect(signatureErrors(errors)).toEqual(['unknown-key'])
    expect((errors[0] as SignatureError).keyId).toBe(signingKeyId(NEW))
  })
})
