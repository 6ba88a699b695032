import { createHmac } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type AnyBackend,
  type Cache,
  createCache,
  describeEntry,
  InvalidOptionError,
  SignatureError,
  type SignOptions,
  signingKeyId,
  v8Serializer,
} from '../src/index.js'
import { decodeEnvelope, encodeEnvelope } from '../src/serialization/envelope.js'
import { MAC_BYTES, SIGNATURE_BYTES, Signer } from '../src/serialization/signing.js'
import { CountingStoreBackend, FullMapBackend } from './support/backends.js'
import { encodeEnvelope as encodePreTimingEnvelope } from './support/pre-timing-envelope.js'

// Review of signed values (issue 14), as an attacker with write access to the store and as a user who
// configures keys in unusual but valid ways: nothing a signed cache did not write is ever served.

const KEY = 'review-signing-key-0123456789abcdef0123456789'
const OTHER = 'review-other-key-0123456789abcdef0123456789ab'

type Entries = Map<string, { value: Uint8Array; expiresAt: number }>

const open: Cache<AnyBackend>[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((cache) => cache.close()))
})

function cacheOver(entries: Entries, sign?: SignOptions) {
  const cache = createCache({
    domainKey: 'D',
    backend: new CountingStoreBackend(entries),
    ...(sign === undefined ? {} : { sign }),
  }) as Cache<AnyBackend>
  open.push(cache)
  const errors: unknown[] = []
  cache.on('error', ({ error }) => errors.push(error))
  return { cache, errors }
}

const reasons = (errors: unknown[]) =>
  errors.map((error) => (error instanceof SignatureError ? error.reason : String(error)))

/** An entry signed by `signer` for `storageKey` over `body`. */
function signed(signer: Signer, storageKey: string, body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + SIGNATURE_BYTES)
  body.copy(out)
  signer.sign(storageKey, out, body.length)
  return out
}

describe('keys given in unusual but valid forms', () => {
  it('a Uint8Array view signs with the bytes it shows, not its whole buffer, and is copied', async () => {
    const backing = new Uint8Array(64)
    for (let i = 0; i < backing.length; i++) backing[i] = i + 1
    const view = new Uint8Array(backing.buffer, 16, 32)
    const plain = Buffer.from(backing.subarray(16, 48))
    expect(signingKeyId(view)).toBe(signingKeyId(plain))
    const entries: Entries = new Map()
    const writer = cacheOver(entries, { key: view })
    backing.fill(0) // the caller reuses its array: the cache kept a copy
    await writer.cache.set('k', 'v')
    const reader = cacheOver(entries, { key: plain })
    expect(await reader.cache.get('k')).toBe('v')
    expect(reader.errors).toEqual([])
  })

  it('a view of fewer than 32 bytes is refused even when its buffer is larger', () => {
    const view = new Uint8Array(new ArrayBuffer(256), 0, 31)
    expect(() => new Signer({ key: view })).toThrow(InvalidOptionError)
  })

  it('a string key counts its UTF-8 bytes: non-ASCII keys sign as createHmac does with the same bytes', () => {
    const key = 'ключ-подписи-ключ-подписи' // 25 characters, 46 UTF-8 bytes
    expect(key.length).toBeLessThan(32)
    const signer = new Signer({ key })
    const entry = signed(signer, 'k', Buffer.from('body'))
    const length = Buffer.alloc(4)
    length.writeUInt32BE(1)
    const expected = createHmac('sha256', Buffer.from(key, 'utf8'))
      .update('rapide signed entry v1\0')
      .update(length)
      .update('k')
      .update(entry.subarray(0, 4 + 4))
      .digest()
    expect(entry.subarray(entry.length - MAC_BYTES).equals(expected)).toBe(true)
  })

  it('acceptedKeys that repeat sign.key or each other are harmless', async () => {
    const entries: Entries = new Map()
    const a = cacheOver(entries, { key: KEY, acceptedKeys: [KEY, OTHER, Buffer.from(OTHER)] })
    await a.cache.set('k', 'v')
    const b = cacheOver(entries, { key: OTHER, acceptedKeys: [KEY] })
    expect(await b.cache.get('k')).toBe('v')
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('acceptedKeys must be an array of valid keys, each named in the error', () => {
    expect(() => new Signer({ key: KEY, acceptedKeys: 'x'.repeat(40) as never })).toThrow(
      /acceptedKeys` must be an array/,
    )
    expect(() => new Signer({ key: KEY, acceptedKeys: [OTHER, 'short'] })).toThrow(/acceptedKeys\[1\]/)
    expect(() => new Signer({ key: KEY, acceptedKeys: [new Uint16Array(32) as never] })).toThrow(
      InvalidOptionError,
    )
  })
})

describe('the MAC input is unambiguous', () => {
  it('bytes moved between the storage key and the entry never verify (the key is length-prefixed)', () => {
    const signer = new Signer({ key: KEY })
    const entry = signed(signer, 'user:12', Buffer.from('3:payload'))
    // The same concatenation split elsewhere: "user:123" + ":payload".
    const shifted = Buffer.concat([entry.subarray(1)])
    expect(() => signer.verify('user:123', shifted, shifted.length - SIGNATURE_BYTES)).toThrow(SignatureError)
    expect(() =>
      signer.verify('user:1', Buffer.concat([Buffer.from('2'), entry]), entry.length + 1 - SIGNATURE_BYTES),
    ).toThrow(SignatureError)
  })

  it('multibyte storage keys are bound by their UTF-8 bytes: keys of equal UTF-16 length differ', () => {
    const signer = new Signer({ key: KEY })
    const entry = signed(signer, 'k:é', Buffer.from('body'))
    signer.verify('k:é', entry, entry.length - SIGNATURE_BYTES)
    for (const other of ['k:e', 'k:è', 'k:é'.normalize('NFD'), 'k:\u00e9\u0000']) {
      expect(() => signer.verify(other, entry, entry.length - SIGNATURE_BYTES)).toThrow(SignatureError)
    }
  })

  it('a storage key longer than a SHA-256 block and than the kept buffer still binds every byte', () => {
    const signer = new Signer({ key: KEY })
    const long = `k:${'x'.repeat(5000)}`
    const entry = signed(signer, long, Buffer.from('body'))
    signer.verify(long, entry, entry.length - SIGNATURE_BYTES)
    expect(() => signer.verify(`${long.slice(0, -1)}y`, entry, entry.length - SIGNATURE_BYTES)).toThrow(
      SignatureError,
    )
  })

  it('a key-value key with a lone surrogate is refused before it reaches the MAC (UTF-8 would merge it with U+FFFD)', async () => {
    const { cache } = cacheOver(new Map(), { key: KEY })
    await expect(async () => cache.get('k\uD800')).rejects.toThrow(InvalidOptionError)
    await expect(async () => cache.set('k\uD800', 1)).rejects.toThrow(InvalidOptionError)
  })
})

describe('verified-entry memo', () => {
  it('two caches of one process over one store, with different keys: what one verified, the other refuses', async () => {
    const entries: Entries = new Map()
    const a = cacheOver(entries, { key: KEY })
    const b = cacheOver(entries, { key: OTHER })
    await a.cache.set('k', 'from a')
    expect(await a.cache.get('k')).toBe('from a')
    expect(await a.cache.get('k')).toBe('from a') // remembered by a's signer
    expect(await b.cache.get('k')).toBeUndefined()
    expect(await b.cache.get('k')).toBeUndefined()
    expect(reasons(b.errors)).toEqual(['unknown-key', 'unknown-key'])
    expect(a.errors).toEqual([])
  })

  it('the entry replaced by an unsigned one of the same value after being remembered is refused', async () => {
    const entries: Entries = new Map()
    const signedCache = cacheOver(entries, { key: KEY })
    const unsigned = cacheOver(entries)
    await signedCache.cache.set('k', 'v')
    expect(await signedCache.cache.get('k')).toBe('v')
    await unsigned.cache.set('k', 'v')
    expect(await signedCache.cache.get('k')).toBeUndefined()
    expect(reasons(signedCache.errors)).toEqual(['unsigned'])
  })

  it('a remembered entry verified under one storage key is no pass for the same bytes under another', () => {
    const signer = new Signer({ key: KEY })
    const entry = signed(signer, 'a', Buffer.from('body'))
    signer.verify('a', entry, entry.length - SIGNATURE_BYTES)
    signer.verify('a', entry, entry.length - SIGNATURE_BYTES)
    expect(() => signer.verify('b', entry, entry.length - SIGNATURE_BYTES)).toThrow(SignatureError)
  })
})

describe('entries of other writers and formats', () => {
  it('a signed cache refuses entries of the format before timing and before signatures (unsigned)', () => {
    const backend = new FullMapBackend(true)
    const cache = createCache({ domainKey: 'D', backend, sign: { key: KEY } })
    open.push(cache as Cache<AnyBackend>)
    const errors: unknown[] = []
    cache.on('error', ({ error }) => errors.push(error))
    cache.set('k', 'genuine')
    const key = [...backend.data.keys()].find((k) => k.endsWith(':k'))!
    backend.data.get(key)!.value = encodePreTimingEnvelope(v8Serializer, 'old format', '', false)
    expect(cache.get('k')).toBeUndefined()
    expect(reasons(errors)).toEqual(['unsigned'])
  })

  it('a cache without sign reads signed entries of every kind, the trailer never taken for payload or header', () => {
    const signer = new Signer({ key: KEY })
    for (const value of [
      '',
      0,
      null,
      undefined,
      { a: 'é'.repeat(100) },
      Buffer.alloc(0),
      'x'.repeat(70_000),
    ]) {
      for (const timing of [undefined, { storedAt: Date.now(), computeMs: 1.5 }]) {
        const entry = encodeEnvelope(v8Serializer, value, 'a.b.c', true, timing, signer, 'k')
        const decoded = decodeEnvelope(v8Serializer, entry, true)
        expect(decoded.value).toEqual(value)
        expect(decoded.stamp).toBe('a.b.c')
        const verified = decodeEnvelope(v8Serializer, entry, true, signer, 'k')
        expect(verified.value).toEqual(value)
      }
    }
  })

  it('a signed entry shorter than its signature is corrupt for every reader, never a crash', () => {
    const signer = new Signer({ key: KEY })
    const body = Buffer.from([0xf2, 4, 0, 0])
    const crc = Buffer.alloc(4)
    for (const length of [0, 1, 35]) {
      const raw = Buffer.concat([body, Buffer.alloc(length)])
      crc.writeUInt32LE(crc32(raw))
      const entry = Buffer.concat([raw, crc])
      expect(() => decodeEnvelope(v8Serializer, entry, true)).toThrow(/truncated signature/)
      expect(() => decodeEnvelope(v8Serializer, entry, true, signer, 'k')).toThrow(/truncated signature/)
      expect(describeEntry(entry, { key: 'k', sign: { key: KEY } }).kind).toBe('corrupt')
    }
  })
})

describe('paths that answer without computing', () => {
  it('a lock waiter never answers an entry stored meanwhile by a writer without the key', async () => {
    const entries: Entries = new Map()
    const holder = cacheOver(entries, { key: KEY })
    const waiter = cacheOver(entries, { key: KEY })
    const intruder = cacheOver(entries) // store access, no signing key
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = holder.cache.wrap(
      'F',
      async (n: number) => {
        await gate
        return `genuine ${n}`
      },
      { lock: { ttl: '5s' } },
    )
    const waiting = waiter.cache.wrap('F', async (n: number) => `waiter computed ${n}`, {
      lock: { ttl: '5s' },
    })
    const forged = intruder.cache.wrap('F', async (n: number) => `forged ${n}`)
    const first = slow(1)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const second = waiting(1)
    await new Promise((resolve) => setTimeout(resolve, 5))
    // The intruder stores an entry under the very generations the waiter is polling for.
    expect(await forged(1)).toBe('forged 1')
    await new Promise((resolve) => setTimeout(resolve, 60))
    release()
    expect(await first).toBe('genuine 1')
    expect(await second).not.toBe('forged 1')
    expect(reasons(waiter.errors).every((reason) => reason === 'unsigned')).toBe(true)
    expect(waiter.errors.length).toBeGreaterThan(0)
  })

  it('describeEntry never claims verified for an entry the signed cache refuses, and vice versa', async () => {
    const entries: Entries = new Map()
    const a = cacheOver(entries, { key: KEY })
    const intruder = cacheOver(entries)
    await a.cache.set('good', 'v')
    await intruder.cache.set('bad', 'v')
    const keyOf = (name: string) => [...entries.keys()].find((k) => k.endsWith(`:${name}`))!
    entries.set(keyOf('good').replace(/good$/, 'moved'), entries.get(keyOf('good'))!)
    for (const [name, served] of [
      ['good', true],
      ['bad', false],
      ['moved', false],
    ] as const) {
      const key = keyOf(name)
      const described = describeEntry(entries.get(key)!.value, { key, sign: { key: KEY } })
      expect(described.verified).toBe(served)
      expect((await a.cache.get(name)) !== undefined).toBe(served)
      expect(described.decoded).toBe(served)
    }
  })
})
