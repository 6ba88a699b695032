import { CorruptEntryError, RapideError } from '../errors.js'
import { LiveEntry, LiveValue } from '../live-entry.js'
import { decodeCounter, decodeText, ENTRY_FLAGS, type EnvelopeParts, readEnvelope } from './envelope.js'
import { jsonSerializer } from './json-serializer.js'
import type { Serializer } from './serializer.js'
import { type Signer, type SignOptions, signerOf } from './signing.js'
import { v8Serializer } from './v8-serializer.js'

/** Options of {@link describeEntry}. */
export interface DescribeEntryOptions {
  /** The serializer of the cache that wrote it, when not one of the built-in `v8` and `json` (found by name). */
  serializer?: Serializer
  /** The cache's `sign` option: with `key`, the signature is verified and a value decoded only if it verifies. */
  sign?: SignOptions
  /** The full storage key the entry was read from (a signature binds it). */
  key?: string
}

/**
 * What a stored entry is, as `rapide get` shows it. `kind`: a wrapped function's `result`, a `key-value`
 * API value, a `counter` (`incr`), a `token` (a generation, an invalidation marker or a lock owner),
 * `absent` (nothing stored), or `corrupt` (`problem` says why).
 */
export interface EntryDescription {
  readonly kind: 'result' | 'key-value' | 'counter' | 'token' | 'absent' | 'corrupt'
  /** Stored size in bytes (0 for an in-process backend's live value). */
  readonly size: number
  /** The serializer that wrote it (entries only). */
  readonly serializer?: string
  /** The generations a result was computed under (`domain.function.result` on shared stores). */
  readonly stamp?: string
  /** When a result was stored (ms since the epoch). */
  readonly storedAt?: number
  /** How long computing a result took (ms). */
  readonly computeMs?: number
  /** The wrapped function returned a promise. */
  readonly async?: boolean
  /** The id of the key that signed it (8 hex digits, see `signingKeyId`); absent when unsigned. */
  readonly signedBy?: string
  /**
   * Whether the signature verifies for `options.key` under `options.sign`: present when both are given.
   * A cache with that `sign` would serve the entry only when `true`; counters are never signed (Redis
   * increments them as text), so a signed cache serves a counter as it is and `verified` stays absent.
   */
  readonly verified?: boolean
  /** Whether `value` holds the decoded value (it may be `undefined` itself). */
  readonly decoded: boolean
  /** The decoded value, a counter's number or a token's text. */
  readonly value?: unknown
  /** Why the entry is corrupt, or why its value was not decoded or its signature not verified. */
  readonly problem?: string
}

const BUILT_IN: readonly Serializer[] = [v8Serializer, jsonSerializer]
/** A random token (base64url), optionally as an invalidation marker `!{time base 36}~{token}`. */
const TOKEN = /^(?:![0-9a-z]{1,12}~)?[A-Za-z0-9_-]{1,64}$/

/**
 * Describes a stored entry (as `backend.get` returned it) without trusting it: never throws on bad bytes,
 * it answers `kind: 'corrupt'` with the reason; only invalid `options` (a short signing key) throw. The
 * value is decoded when its serializer is known and, with `sign` and `key`, only when the signature
 * verifies: a forged payload never reaches the deserializer.
 *
 * @example
 * const stored = await backend.get(key)
 * const entry = describeEntry(stored, { key, sign: { key: process.env.CACHE_SIGNING_KEY! } })
 * if (entry.verified === false) console.error(`forged or moved entry: ${entry.problem}`)
 */
export function describeEntry(stored: unknown, options: DescribeEntryOptions = {}): EntryDescription {
  const signer = signerOf(options.sign, 'describeEntry')
  if (stored === undefined || stored === null) return { kind: 'absent', size: 0, decoded: false }
  if (stored instanceof LiveEntry) {
    const { value, async, storedAt, computeMs } = stored
    return { kind: 'result', size: 0, async, storedAt, computeMs, decoded: true, value }
  }
  if (stored instanceof LiveValue) return { kind: 'key-value', size: 0, decoded: true, value: stored.value }
  if (typeof stored === 'number') return { kind: 'counter', size: 0, decoded: true, value: stored }
  if (typeof stored !== 'string' && !(stored instanceof Uint8Array)) {
    return corrupt(0, `expected bytes, got ${typeof stored}`)
  }
  const size = typeof stored === 'string' ? Buffer.byteLength(stored) : stored.length
  if (typeof stored !== 'string' && (stored[0] === 0xf2 || stored[0] === 0xf1)) {
    return describeEnvelope(stored, size, options, signer)
  }
  const counter = decodeCounter(stored)
  if (counter !== undefined) return { kind: 'counter', size, decoded: true, value: counter }
  const text = decodeText(stored)
  if (text !== undefined && TOKEN.test(text)) return { kind: 'token', size, decoded: true, value: text }
  return corrupt(size, 'not a rapide entry (neither an envelope, a counter nor a token)')
}

function corrupt(size: number, problem: string, known: Partial<EntryDescription> = {}): EntryDescription {
  return { ...known, kind: 'corrupt', size, decoded: false, problem }
}

function describeEnvelope(
  stored: Uint8Array,
  size: number,
  options: DescribeEntryOptions,
  signer: Signer | undefined,
): EntryDescription {
  let parts: EnvelopeParts
  try {
    parts = readEnvelope(stored)
  } catch (error) {
    return corrupt(size, reasonOf(error))
  }
  const { flags, bytes, payloadEnd } = parts
  const signed = (flags & ENTRY_FLAGS.signed) !== 0
  const timed = (flags & ENTRY_FLAGS.timed) !== 0
  const known: EntryDescription = {
    kind: timed ? 'result' : 'key-value',
    size,
    serializer: parts.serializer,
    stamp: parts.stamp,
    ...(timed ? { storedAt: parts.storedAt, computeMs: parts.computeMs } : {}),
    async: (flags & ENTRY_FLAGS.async) !== 0,
    ...(signed ? { signedBy: bytes.toString('hex', payloadEnd, payloadEnd + 4) } : {}),
    decoded: false,
  }
  let verified: boolean | undefined
  let problem: string | undefined
  if (signer !== undefined && options.key !== undefined) {
    try {
      readEnvelope(stored, signer, options.key)
      verified = true
    } catch (error) {
      verified = false
      problem = reasonOf(error)
    }
  } else if (signer !== undefined) {
    problem = 'pass the storage key (options.key) to verify the signature: it binds the key'
  }
  const withVerdict = verified === undefined ? known : { ...known, verified }
  // A value whose signature was checked and failed is never decoded: it may be a forger's payload.
  if (verified === false) return { ...withVerdict, problem: problem! }
  const serializer = [options.serializer, ...BUILT_IN].find((s) => s?.name === parts.serializer)
  if (serializer === undefined) {
    return {
      ...withVerdict,
      problem: `written by serializer "${parts.serializer}": pass it as options.serializer to decode the value`,
    }
  }
  try {
    const value = serializer.decode(bytes.subarray(parts.headerEnd, payloadEnd))
    return { ...withVerdict, decoded: true, value, ...(problem === undefined ? {} : { problem }) }
  } catch (error) {
    return corrupt(size, `payload does not decode: ${reasonOf(error)}`, withVerdict)
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof CorruptEntryError) return error.message.replace(/^Stored entry is corrupt: /, '')
  if (RapideError.isInstance(error)) return error.message
  return error instanceof Error ? error.message : String(error)
}
