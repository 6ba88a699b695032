import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
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
 * `createHmac` per call, not precomputed inner and outer SHA-256 states copied with `hash.copy()`: on
 * Node 20 the copy variant measured about 15% slower (two Hash objects per MAC against one), at 2.5 µs
 * against 3 µs per 100-byte entry.
 */
export class Signer {
  /** The id of the signing key, as written in entries. */
  readonly keyId: Buffer
  private readonly secret: Buffer
  /** Every accepted key (the signing key first) by its id, read as a u32. */
  private readonly byId = new Map<number, Buffer>()
  private readonly lengthPrefix = Buffer.alloc(4)

  constructor(options: SignOptions, where = 'createCache') {
    this.secret = keyBytes(options.key, `${where}: \`sign.key\``)
    this.keyId = keyIdOf(this.secret)
    this.byId.set(this.keyId.readUInt32BE(0), this.secret)
    const accepted = options.acceptedKeys ?? []
    if (!Array.isArray(accepted)) {
      throw new InvalidOptionError(`${where}: \`sign.acceptedKeys\` must be an array of keys`)
    }
    accepted.forEach((key: unknown, i) => {
      const secret = keyBytes(key, `${where}: \`sign.acceptedKeys[${i}]\``)
      const id = keyIdOf(secret).readUInt32BE(0)
      const known = this.byId.get(id)
      if (known === undefined) this.byId.set(id, secret)
      else if (!known.equals(secret)) {
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
    this.mac(this.secret, storageKey, out.subarray(0, end + KEY_ID_BYTES)).copy(out, end + KEY_ID_BYTES)
  }

  /**
   * Verifies the signature at `bytes[end, end + SIGNATURE_BYTES)`, in constant time; throws a
   * {@link SignatureError} saying whether the key id is unknown or the MAC does not match.
   */
  verify(storageKey: string, bytes: Buffer, end: number): void {
    const id = bytes.readUInt32BE(end)
    const secret = this.byId.get(id)
    if (secret === undefined) throw new SignatureError('unknown-key', hexId(id))
    const expected = this.mac(secret, storageKey, bytes.subarray(0, end + KEY_ID_BYTES))
    const macStart = end + KEY_ID_BYTES
    if (!timingSafeEqual(expected, bytes.subarray(macStart, macStart + MAC_BYTES))) {
      throw new SignatureError('mismatch', hexId(id))
    }
  }

  /** Whether `id` (8 hex digits) names a key this signer accepts. */
  accepts(id: string): boolean {
    return this.byId.has(Number.parseInt(id, 16))
  }

  private mac(secret: Buffer, storageKey: string, signed: Buffer): Buffer {
    this.lengthPrefix.writeUInt32BE(Buffer.byteLength(storageKey, 'utf8'))
    return createHmac('sha256', secret)
      .update(ENTRY_TAG)
      .update(this.lengthPrefix)
      .update(storageKey, 'utf8')
      .update(signed)
      .digest()
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
