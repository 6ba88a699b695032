import { describe, expect, it } from 'vitest'
import { SIGNATURE_BYTES, Signer } from '../src/serialization/signing.js'

// Review of signed values (issue 14), defect: the MAC's kept inner buffer outgrows its stated bound.

describe('Signer: the buffer a key keeps', () => {
  it('never keeps more than 64 KiB, however the entries it signed grew', () => {
    const signer = new Signer({ key: 'a signing key of at least thirty-two bytes, for tests' })
    for (const size of [40_000, 60_000]) signer.sign('k', Buffer.alloc(size + SIGNATURE_BYTES), size)
    const kept = (signer as unknown as { signing: { inner: Buffer } }).signing.inner
    expect(kept.length).toBeLessThanOrEqual(65_536)
  })
})
