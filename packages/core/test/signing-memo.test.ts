import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SignatureError } from '../src/index.js'
import { MAC_BYTES, SIGNATURE_BYTES, Signer } from '../src/serialization/signing.js'

// The signer remembers entries it verified, so a hot key costs a byte comparison instead of a MAC: what it
// remembers must never make it accept bytes it did not verify, and a huge entry signs like a small one.

const KEY = 'a signing key of at least thirty-two bytes, for tests'

function signed(signer: Signer, storageKey: string, body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + SIGNATURE_BYTES)
  body.copy(out)
  signer.sign(storageKey, out, body.length)
  return out
}

describe('Signer: verified entries remembered', () => {
  it('refuses a forged entry under a key whose genuine entry it verified just before', () => {
    const signer = new Signer({ key: KEY })
    const genuine = signed(signer, 'k', Buffer.from('the genuine payload'))
    signer.verify('k', genuine, genuine.length - SIGNATURE_BYTES)
    signer.verify('k', genuine, genuine.length - SIGNATURE_BYTES) // remembered
    const forged = Buffer.from(genuine)
    forged[3] = forged[3]! ^ 1
    expect(() => signer.verify('k', forged, forged.length - SIGNATURE_BYTES)).toThrow(SignatureError)
    // A forged entry is not remembered by being refused: the genuine one is still accepted, the forged
    // one still refused.
    signer.verify('k', genuine, genuine.length - SIGNATURE_BYTES)
    expect(() => signer.verify('k', forged, forged.length - SIGNATURE_BYTES)).toThrow(SignatureError)
    // Nor is the genuine entry valid under another key, remembered or not.
    expect(() => signer.verify('other', genuine, genuine.length - SIGNATURE_BYTES)).toThrow(SignatureError)
  })

  it('keeps no reference to the caller buffer: bytes changed in place after a verify are verified again', () => {
    const signer = new Signer({ key: KEY })
    const entry = signed(signer, 'k', Buffer.from('payload'))
    signer.verify('k', entry, entry.length - SIGNATURE_BYTES)
    entry[0] = entry[0]! ^ 0xff // a pooled buffer reused by the backend, say
    expect(() => signer.verify('k', entry, entry.length - SIGNATURE_BYTES)).toThrow(SignatureError)
  })

  it('stays bounded however many keys it verifies', () => {
    const signer = new Signer({ key: KEY })
    for (let i = 0; i < 5000; i++) {
      const entry = signed(signer, `k${i}`, Buffer.from(`payload ${i}`))
      signer.verify(`k${i}`, entry, entry.length - SIGNATURE_BYTES)
    }
    const remembered = (signer as unknown as { verified: Map<string, Buffer> }).verified
    expect(remembered.size).toBeLessThanOrEqual(1024)
    expect(remembered.has('k4999')).toBe(true)
    expect(remembered.has('k0')).toBe(false)
  })

  it('signs and verifies an entry larger than the buffer it keeps, as HMAC-SHA256 does', () => {
    const signer = new Signer({ key: KEY })
    const body = Buffer.alloc(200_000, 7)
    const entry = signed(signer, 'big', body)
    signer.verify('big', entry, body.length)
    // The same MAC as Node's own HMAC over the documented message.
    const tag = Buffer.from('rapide signed entry v1\0')
    const storageKey = Buffer.from('big')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(storageKey.length)
    const expected = createHmac('sha256', KEY)
      .update(tag)
      .update(length)
      .update(storageKey)
      .update(entry.subarray(0, body.length + 4))
      .digest()
    expect(entry.subarray(entry.length - MAC_BYTES).equals(expected)).toBe(true)
    const kept = (signer as unknown as { signing: { inner: Buffer } }).signing.inner
    expect(kept.length).toBeLessThanOrEqual(65_536)
  })
})
