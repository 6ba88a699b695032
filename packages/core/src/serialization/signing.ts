import { createHash, hash, timingSafeEqual } from 'node:crypto'
import { InvalidOptionError, SignatureError } from '../errors.js'
import { checkOptions } from '../options.js'

/**
 * The `sign` option of `createCache`: every entry written carries an HMAC-SHA256 made with `key`; an
 * entry whose signature does not verify under `key` or one of `acceptedKeys` is a reported miss.
 *
 * @example
 * // KEY: `openssl rand -base64 32`
 * createCache({ domainKey: 'APP', backend, sign: { key: process.env.CACHE_SIGNING_KEY! } })
 */
export interface SignOptions {
  /** Signs every entry written (and verifies). At least 32 bytes (a string counts its UTF-8 bytes). */
  key: string | Uint8Array
  /**
   * Keys also accepted when reading, never used to sign: the rotation mechanism (see "Signed values" in
   * the core README). Each at least 32 bytes.
   */
  acceptedKeys?: readonly (string | Uint8Array)[]
}

/** How many verified entries a signer remembers (see `Signer.verify`), and the largest it keeps. */
const VERIFIED_ENTRIES = 1024
const VERIFIED_ENTRY_BYTES = 4096
/** Larger inner messages are assembled in a buffer of their own, so no key keeps a huge one alive. */
const KEPT_INNER_BYTES = 65_536

/** The shortest key accepted: 256 bits, the size of HMAC-SHA256's output. */
export const MIN_KEY_BYTES = 32
export const KEY_ID_BYTES = 4
export const MAC_BYTES = 32
/** What a signature adds to an entry: the signing key's id, then the MAC. */
export const SIGNATURE_BYTES = KEY_ID_BYTES + MAC_BYTES

/**
 * Separates this MAC from any other use of the same key: a MAC made for an entry is never valid for
 * something else, nor the other way round. The version would change with the signed layout.
 */
const ENTRY_TAG = Buffer.from('rapide signed entry v1\0')
const KEY_ID_TAG = Buffer.from('rapide key id\0')
const SIGN_OPTIONS = ['key', 'acceptedKeys']

/**
 * The id of a signing key, as stored in every entry it signs (8 hex digits): the first 4 bytes of
 * SHA-256 over `"rapide key id\0"` and the key. The tag keeps the id from being bytes of the HMAC's own
 * key derivation. From a shell: `(printf 'rapide key id\0'; printf %s "$KEY") | sha256sum | cut -c1-8`.
 *
 * @example
 * signingKeyId(process.env.CACHE_SIGNING_KEY!) // 'a1b2c3d4': compare with `rapide get`'s "signed by"
 */
export function signingKeyId(key: string | Uint8Array): string {
  return keyIdOf(keyBytes(key, 'signingKeyId: key')).toString('hex')
}

function keyIdOf(secret: Buffer): Buffer {
  return createHash('sha256').update(KEY_ID_TAG).update(secret).digest().subarray(0, KEY_ID_BYTES)
}

function keyBytes(key: unknown, what: string): Buffer {
  let bytes: Buffer
  if (typeof key === 'string') bytes = Buffer.from(key, 'utf8')
  else if (key instanceof Uint8Array)
    bytes = Buffer.from(key) // a copy: the caller may reuse its array
  else throw new InvalidOptionError(`${what} must be a string or a Uint8Array, got ${typeof key}`)
  if (bytes.length < MIN_KEY_BYTES) {
    throw new InvalidOptionError(
      `${what} has ${bytes.length} bytes; a signing key needs at least ${MIN_KEY_BYTES} random bytes. Generate one with \`openssl rand -base64 32\` and pass the whole printed string`,
    )
  }
  return bytes
}

/**
 * One cache's signing keys: signs with `key`, verifies with it and the accepted keys, picked by the key
 * id the entry carries.
 *
 * HMAC-SHA256 over the tag, the storage key (its UTF-8 length as u32 BE, then its bytes, so no key can be
 * extended into another) and the entry up to the MAC (magic, flags with `signed`, header with serializer,
 * timing and stamp, payload, key id). Binding the storage key means a valid entry copied to another key
 * (another function, domain, prefix or argument list) does not verify there.
 *
 * The HMAC is RFC 2104 over two one-shot `crypto.hash('sha256', …)` calls, the key's padded blocks
 * computed once: H(K ⊕ opad ‖ H(K ⊕ ipad ‖ message)). On Node 20 with a 100-byte entry that measured
 * 2.3 µs, against 3.0 µs for `createHmac` per call (an Hmac object to build per MAC) and 3.9 µs for
 * precomputed SHA-256 states copied with `hash.copy()` (two Hash objects per MAC). The bench's
 * `operations` section measures the three; a test checks this MAC against `createHmac` for keys shorter
 * and longer than a block.
 */
export class Signer {
  /** The id of the signing key, as written in entries. */
  readonly keyId: Buffer
  private readonly signing: PaddedKey
  /** Every accepted key (the signing key first) by its id, read as a u32. */
  private readonly byId = new Map<number, PaddedKey>()

  constructor(options: SignOptions, where = 'createCache') {
    const secret = keyBytes(options.key, `${where}: \`sign.key\``)
    this.keyId = keyIdOf(secret)
    this.signing = new PaddedKey(secret)
    this.byId.set(this.keyId.readUInt32BE(0), this.signing)
    const accepted = options.acceptedKeys ?? []
    if (!Array.isArray(accepted)) {
      throw new InvalidOptionError(`${where}: \`sign.acceptedKeys\` must be an array of keys`)
    }
    accepted.forEach((key: unknown, i) => {
      const secret = keyBytes(key, `${where}: \`sign.acceptedKeys[${i}]\``)
      const id = keyIdOf(secret).readUInt32BE(0)
      const known = this.byId.get(id)
      if (known === undefined) this.byId.set(id, new PaddedKey(secret))
      else if (!known.secret.equals(secret)) {
        // One chance in four billion per pair; verifying would try the wrong key and refuse good entries.
        throw new InvalidOptionError(
          `${where}: \`sign.acceptedKeys[${i}]\` has the same key id as another key; generate another key`,
        )
      }
    })
  }

  /** Writes the key id at `end` and the MAC after it, over the storage key and `out[0, end + id)`. */
  sign(storageKey: string, out: Buffer, end: number): void {
    this.keyId.copy(out, end)
    this.mac(this.signing, storageKey, out, end + KEY_ID_BYTES).copy(out, end + KEY_ID_BYTES)
  }

  /**
   * Verifies the signature at `bytes[end, end + SIGNATURE_BYTES)`, in constant time; throws a
   * {@link SignatureError} saying whether the key id is unknown or the MAC does not match.
   */
  verify(storageKey: string, bytes: Buffer, end: number): void {
    // The very bytes verified last under this key: the same MAC over the same key and entry, valid again.
    // A byte comparison costs a few nanoseconds where a MAC costs two microseconds, and a hot key is read
    // far more often than it is rewritten. Nothing secret is compared: both sides are what the store held.
    const known = this.verified.get(storageKey)
    if (known?.equals(bytes)) return
    const id = bytes.readUInt32BE(end)
    const key = this.byId.get(id)
    if (key === undefined) throw new SignatureError('unknown-key', hexId(id))
    const macStart = end + KEY_ID_BYTES
    const expected = this.mac(key, storageKey, bytes, macStart)
    if (!timingSafeEqual(expected, bytes.subarray(macStart, macStart + MAC_BYTES))) {
      throw new SignatureError('mismatch', hexId(id))
    }
    this.remember(storageKey, bytes)
  }

  /**
   * Entries verified recently, by storage key (a copy of their bytes): at most {@link VERIFIED_ENTRIES}
   * of them, none over {@link VERIFIED_ENTRY_BYTES}, the oldest forgotten first.
   */
  private readonly verified = new Map<string, Buffer>()

  private remember(storageKey: string, bytes: Buffer): void {
    if (bytes.length > VERIFIED_ENTRY_BYTES) return
    const { verified } = this
    verified.delete(storageKey)
    if (verified.size >= VERIFIED_ENTRIES) verified.delete(verified.keys().next().value!)
    verified.set(storageKey, Buffer.from(bytes))
  }

  /** HMAC-SHA256 under `key` of: the tag, the storage key (u32 BE UTF-8 length, then its bytes), `bytes[0, end)`. */
  private mac(key: PaddedKey, storageKey: string, bytes: Buffer, end: number): Buffer {
    // At most 3 UTF-8 bytes per UTF-16 unit: room enough without measuring the key first.
    const inner = key.innerMessage(KEY_AT + storageKey.length * 3 + end)
    const keyLength = inner.write(storageKey, KEY_AT, 'utf8')
    inner.writeUInt32BE(keyLength, KEY_AT - 4)
    bytes.copy(inner, KEY_AT + keyLength, 0, end)
    hash('sha256', inner.subarray(0, KEY_AT + keyLength + end), 'buffer').copy(key.outer, BLOCK_BYTES)
    return hash('sha256', key.outer, 'buffer')
  }
}

/** SHA-256's block size: HMAC pads its key to it. */
const BLOCK_BYTES = 64
/** Where the storage key starts in the inner message: after K ⊕ ipad, the tag and the key's length. */
const KEY_AT = BLOCK_BYTES + ENTRY_TAG.length + 4

/** A key's HMAC blocks (RFC 2104), computed once: K ⊕ ipad, and K ⊕ opad followed by room for the inner hash. */
class PaddedKey {
  /** K ⊕ opad, then the inner hash of the MAC being computed (written in place: one buffer, no concat). */
  readonly outer = Buffer.alloc(BLOCK_BYTES + MAC_BYTES)
  /**
   * Where the inner message is assembled, K ⊕ ipad and the tag written once at its start: one hash call
   * over it, no Hmac object per MAC. Grown for a larger entry.
   */
  private inner = Buffer.alloc(1024)

  constructor(readonly secret: Buffer) {
    // A key longer than a block is replaced by its hash, as RFC 2104 says; a shorter one is zero-padded.
    const block = Buffer.alloc(BLOCK_BYTES)
    ;(secret.length > BLOCK_BYTES ? createHash('sha256').update(secret).digest() : secret).copy(block)
    for (let i = 0; i < BLOCK_BYTES; i++) {
      this.inner[i] = block[i]! ^ 0x36
      this.outer[i] = block[i]! ^ 0x5c
    }
    ENTRY_TAG.copy(this.inner, BLOCK_BYTES)
  }

  /** The inner message buffer, at least `size` bytes, its fixed start in place. */
  innerMessage(size: number): Buffer {
    if (size <= this.inner.length) return this.inner
    const grown = Buffer.alloc(
      size > KEPT_INNER_BYTES ? size : Math.min(KEPT_INNER_BYTES, Math.max(size, this.inner.length * 2)),
    )
    this.inner.copy(grown, 0, 0, KEY_AT)
    if (size <= KEPT_INNER_BYTES) this.inner = grown
    return grown
  }
}

function hexId(id: number): string {
  return id.toString(16).padStart(KEY_ID_BYTES * 2, '0')
}

/** Builds the signer of a `sign` option (validated), or `undefined` without one. */
export function signerOf(sign: unknown, where = 'createCache'): Signer | undefined {
  if (sign === undefined) return undefined
  if (typeof sign !== 'object' || sign === null || Array.isArray(sign)) {
    throw new InvalidOptionError(
      `${where}: \`sign\` must be an object such as { key }, with a key from \`openssl rand -base64 32\``,
    )
  }
  checkOptions(sign, SIGN_OPTIONS, `${where}: \`sign\``)
  return new Signer(sign as SignOptions, where)
}
