// STAND-IN, to delete once core's `describeEntry` (serialization/describe-entry.ts) lands: reads an entry
// by the envelope layout documented in core's envelope.ts, without verifying signatures.
import { crc32 } from 'node:zlib'
import { jsonSerializer, type Serializer, v8Serializer } from '@rapide/core'

export interface EntryDescription {
  readonly kind: 'result' | 'key-value' | 'counter' | 'token' | 'corrupt'
  readonly serializer?: string
  readonly stamp?: string
  readonly storedAt?: number
  readonly computeMs?: number
  readonly signed?: boolean
  readonly signatureValid?: boolean
  readonly value?: unknown
  readonly problem?: string
}

const SERIALIZERS: Readonly<Record<string, Serializer>> = { v8: v8Serializer, json: jsonSerializer }
const SIGNATURE_BYTES = 36

export function describeEntry(stored: unknown): EntryDescription {
  if (!(stored instanceof Uint8Array)) return { kind: 'corrupt', problem: `not bytes (${typeof stored})` }
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  const text = bytes.toString('utf8')
  if (/^-?\d{1,20}$/.test(text)) return { kind: 'counter', value: Number(text) }
  if (bytes[0] !== 0xf2) {
    return text.isWellFormed() && !text.includes('\uFFFD')
      ? { kind: 'token', value: text }
      : { kind: 'corrupt', problem: 'not a rapide entry' }
  }
  if (bytes.length < 8 || crc32(bytes.subarray(0, -4)) !== bytes.readUInt32LE(bytes.length - 4)) {
    return { kind: 'corrupt', problem: 'checksum mismatch' }
  }
  const flags = bytes[1]!
  const signed = (flags & 4) !== 0
  const payloadEnd = bytes.length - 4 - (signed ? SIGNATURE_BYTES : 0)
  const headerEnd = 4 + bytes.readUInt16BE(2)
  if (headerEnd > payloadEnd) return { kind: 'corrupt', problem: 'truncated header' }
  const lines = bytes.toString('utf8', 4, headerEnd).split('\n')
  const serializer = lines[0]!
  const timed = (flags & 2) !== 0
  const [storedAt, computeMs] = timed ? lines[1]!.split(':').map(Number) : [0, 0]
  const stamp = lines.slice(timed ? 2 : 1).join('\n')
  const decoder = SERIALIZERS[serializer]
  let value: unknown
  let problem: string | undefined
  try {
    value = decoder?.decode(bytes.subarray(headerEnd, payloadEnd))
    if (decoder === undefined) problem = `serializer "${serializer}" unknown to the CLI`
  } catch (error) {
    problem = `payload does not decode: ${(error as Error).message}`
  }
  return {
    kind: stamp === '' ? 'key-value' : 'result',
    serializer,
    stamp,
    storedAt: storedAt ?? 0,
    computeMs: computeMs ?? 0,
    signed,
    value,
    ...(problem === undefined ? {} : { problem }),
  }
}
