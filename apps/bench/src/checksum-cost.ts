/**
 * What the integrity work of issue 10 costs (items 4 and 9), in one short standalone run:
 *
 * - hit path: every entry read from a byte-storing backend is checked against its CRC-32. The script
 *   times the checksum alone on a real stored entry (~100-byte payload), `decodeEnvelope` with it and a
 *   replica of the decode without it, and relates them to a real SQLite hit through `createCache`;
 * - miss path: the serializers walk a value before encoding it, to refuse what would not round-trip. The
 *   script times `v8Serializer.encode` against bare `v8.serialize` (and the JSON pair) on small objects.
 *
 * Run: `pnpm --filter @rapide/bench build && pnpm --filter @rapide/bench bench:checksum` (about 20 s).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { crc32 } from 'node:zlib'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache, jsonSerializer, type Serializer, type SyncBackend, v8Serializer } from '@rapide/core'
import { measure } from './measure.js'

const options = { rounds: 7, roundMs: 150 }

/** A ~100-byte payload: the shape of a typical cached row. */
const row = {
  id: 4242,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  tier: 'gold',
  tags: ['admin', 'author'],
  active: true,
}

/** An in-process byte store that keeps what the core writes, so the script can read a real entry. */
class CapturingBackend implements SyncBackend<unknown> {
  readonly specificationVersion = 2 as const
  readonly name = 'capture'
  readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: false } as const
  readonly data = new Map<string, unknown>()
  get(key: string): unknown {
    return this.data.get(key)
  }
  set(key: string, value: unknown): void {
    this.data.set(key, value)
  }
  delete(key: string): boolean {
    return this.data.delete(key)
  }
}

/** The stored entry of one key-value `set` of `value`, as the core writes it. */
function storedEntry(value: unknown): Buffer {
  const backend = new CapturingBackend()
  const cache = createCache({ domainKey: 'CRC', backend })
  cache.set('row', value)
  const entry = [...backend.data.values()].find(
    (stored): stored is Uint8Array => stored instanceof Uint8Array && stored[0] === 0xf2,
  )
  if (entry === undefined) throw new Error('no checksummed entry found: is @rapide/core built?')
  return Buffer.from(entry)
}

type DecodeEnvelope = (serializer: Serializer, stored: unknown) => unknown

/** `decodeEnvelope` from the built core (internal, so loaded by path), or undefined if not found. */
async function loadDecodeEnvelope(): Promise<DecodeEnvelope | undefined> {
  try {
    const url = new URL('../../../packages/core/dist/serialization/envelope.js', import.meta.url)
    const module = (await import(url.href)) as { decodeEnvelope?: DecodeEnvelope }
    return module.decodeEnvelope
  } catch {
    return undefined
  }
}

/** The decode as it was before checksums: the same steps, without the CRC. */
function decodeWithoutChecksum(serializer: Serializer, bytes: Buffer) {
  if (bytes.length < 8 || bytes[0] !== 0xf2) throw new Error('not an entry')
  const payloadEnd = bytes.length - 4
  const headerEnd = 4 + bytes.readUInt16BE(2)
  if (headerEnd > payloadEnd) throw new Error('truncated header')
  const header = bytes.toString('utf8', 4, headerEnd)
  const newline = header.indexOf('\n')
  if (newline < 0 || header.slice(0, newline) !== serializer.name) throw new Error('malformed header')
  const value = serializer.decode(bytes.subarray(headerEnd, payloadEnd))
  return { value, stamp: header.slice(newline + 1), async: (bytes[1]! & 1) !== 0 }
}

async function sqliteHitNs(readCache: boolean): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), 'rapide-checksum-'))
  const backend = new SqliteBackend({
    path: join(directory, 'bench.sqlite'),
    ...(readCache ? {} : { readCache: false }),
  })
  const cache = createCache({ domainKey: 'CRC', backend, defaultTtl: '1h' })
  const load = cache.wrap('ROW', (id: number) => ({ ...row, id }))
  const hot = 1000
  for (let id = 0; id < hot; id++) load(id)
  const result = await measure((i) => load(i % hot), false, options)
  await cache.close()
  rmSync(directory, { recursive: true, force: true })
  return result.nsPerOp
}

const ns = (value: number) => `${value.toFixed(0).padStart(6)} ns`
const pct = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`

async function main(): Promise<void> {
  const entry = storedEntry(row)
  const payloadBytes = serialize(row).length
  console.log(`entry: ${entry.length} bytes (payload ${payloadBytes} bytes, v8 serializer)\n`)

  let sink = 0
  const crc = await measure(
    () => {
      sink ^= crc32(entry)
    },
    false,
    options,
  )
  const decodeEnvelope = await loadDecodeEnvelope()
  const withChecksum = decodeEnvelope
    ? await measure(() => decodeEnvelope(v8Serializer, entry), false, options)
    : undefined
  const withoutChecksum = await measure(() => decodeWithoutChecksum(v8Serializer, entry), false, options)
  const sqliteHit = await sqliteHitNs(true)
  const sqliteHitNoReadCache = await sqliteHitNs(false)

  console.log('Hit path (item 4, the checksum)')
  console.log(`  crc32 of the entry                    ${ns(crc.nsPerOp)}`)
  if (withChecksum) {
    console.log(`  decodeEnvelope (with checksum)        ${ns(withChecksum.nsPerOp)}`)
  } else {
    console.log('  decodeEnvelope: build @rapide/core first to time it directly')
  }
  console.log(`  the same decode without the checksum  ${ns(withoutChecksum.nsPerOp)}`)
  console.log(`  SQLite hit (createCache, read cache)  ${ns(sqliteHit)}`)
  console.log(`  SQLite hit (no read cache)            ${ns(sqliteHitNoReadCache)}`)
  console.log(
    `  checksum / SQLite hit: ${pct(crc.nsPerOp, sqliteHit)} (read cache), ${pct(crc.nsPerOp, sqliteHitNoReadCache)} (no read cache); target < 5%`,
  )
  if (withChecksum) {
    const added = withChecksum.nsPerOp - withoutChecksum.nsPerOp
    console.log(`  decode with − without: ${ns(added)} = ${pct(added, sqliteHit)} of a SQLite hit`)
  }

  console.log('\nMiss path (item 9, the round-trip check before encoding)')
  const customer = { id: 42, name: 'customer-42', tier: 'gold' }
  for (const [label, value] of [
    ['bench customer {id,name,tier}', customer],
    ['~100-byte row', row],
    ['row with a Date and a Map', { ...row, at: new Date(0), seen: new Map([['a', 1]]) }],
  ] as const) {
    const checked = await measure(() => v8Serializer.encode(value), false, options)
    const bare = await measure(() => serialize(value), false, options)
    console.log(
      `  v8   ${label.padEnd(30)} encode ${ns(checked.nsPerOp)}, bare serialize ${ns(bare.nsPerOp)}: check ${ns(checked.nsPerOp - bare.nsPerOp)}`,
    )
  }
  for (const [label, value] of [
    ['bench customer {id,name,tier}', customer],
    ['~100-byte row', row],
  ] as const) {
    const checked = await measure(() => jsonSerializer.encode(value), false, options)
    const bare = await measure(() => Buffer.from(JSON.stringify(value)), false, options)
    console.log(
      `  json ${label.padEnd(30)} encode ${ns(checked.nsPerOp)}, bare stringify ${ns(bare.nsPerOp)}: check ${ns(checked.nsPerOp - bare.nsPerOp)}`,
    )
  }
  // Keep the optimiser from dropping the timed work.
  if (sink === 0.5 || deserialize(serialize(1)) !== 1) console.log(sink)
}

await main()
