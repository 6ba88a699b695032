import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache, signingKeyId } from '@rapide/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, json, runCli } from './support/run-cli.js'

// Keys as `openssl rand -base64 32` prints them: what an app keeps in its environment.
const GOOD = 'q1Zb1n6mR0YwX2p5d1kE7cYVt3sH8uJxL9aN4fQgR2M='
const OLD = 'Tz5mV8bN2xC7kP1rQ4wE9yU6iO3aS0dF5gH8jK2lZ7X='
const WRONG = 'Hk3nB6vC9xZ2mL5qW8eR1tY4uI7oP0aS3dF6gJ9kL2M='

interface GetJson {
  entry: { kind: string; signed?: boolean; signedBy?: string; decoded: boolean; problem?: string }
  signature?: { status: string; keyId?: string; key?: string; reason?: string }
  live?: boolean
  value?: unknown
}

/** `rapide get --json`, checking it succeeded and never printed a key. */
async function getJson(args: string[], env: NodeJS.ProcessEnv = {}): Promise<GetJson> {
  const result = await runCli(['get', ...args, '--json'], { env })
  expect(result.code, result.stderr).toBe(0)
  expectNoKeyShown(result)
  return json<GetJson>(result)
}

function expectNoKeyShown(result: CliResult): void {
  for (const key of [GOOD, OLD, WRONG]) expect(result.stdout + result.stderr).not.toContain(key)
}

/**
 * An entry whose value a forger edited in the store (`from` → `to` in its payload), its checksum made
 * right again unless `fixChecksum` is false: what only a signature can tell apart.
 */
function forged(stored: Uint8Array, from: string, to: string, fixChecksum = true): Buffer {
  const bytes = Buffer.from(stored)
  const at = bytes.indexOf(from, 4 + bytes.readUInt16BE(2))
  expect(at).toBeGreaterThan(0)
  bytes.write(to, at)
  if (fixChecksum) bytes.writeUInt32LE(crc32(bytes.subarray(0, -4)), bytes.length - 4)
  return bytes
}

describe('rapide get verifies signatures of a store written by a signed cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapide-cli-signed-'))
  const path = join(dir, 'app.db')
  const url = `sqlite://${path}`
  const backend = new SqliteBackend({ path })
  const computed = { price: 0 }
  const signed = createCache({ domainKey: 'SHOP', backend, sign: { key: GOOD } })
  const price = signed.wrap('GET_PRICE', (sku: string) => {
    computed.price++
    return { sku, price: sku.length * 10 }
  })
  const unsigned = createCache({ domainKey: 'PLAIN', backend })
  const key = (sku: string) => `|SHOP:r:{GET_PRICE:1:s${sku}}`

  beforeAll(() => {
    for (const sku of ['A-1', 'A-2', 'A-3', 'A-4', 'A-5']) price(sku)
    signed.set('cart:42', [1, 2, 3])
    unsigned.set('note', 'hello')
  })

  afterAll(async () => {
    await signed.close()
    await unsigned.close()
    backend.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('without a key: signed by which key id, not verified, value shown', async () => {
    const entry = await getJson([url, key('A-1')])
    expect(entry).toMatchObject({
      entry: { kind: 'result', signed: true, signedBy: signingKeyId(GOOD), decoded: true },
      signature: { status: 'unverified', keyId: signingKeyId(GOOD) },
      live: true,
      value: { sku: 'A-1', price: 30 },
    })
    const human = await runCli(['get', url, key('A-1')])
    expect(human.stdout).toMatch(
      new RegExp(`^signed\\s+by key ${signingKeyId(GOOD)} \\(not verified: pass --sign-key`, 'm'),
    )
  })

  it('the good key (RAPIDE_SIGN_KEY or --sign-key): valid, and which key verified it', async () => {
    const viaEnv = await getJson([url, key('A-1')], { RAPIDE_SIGN_KEY: GOOD })
    expect(viaEnv).toMatchObject({
      signature: { status: 'valid', keyId: signingKeyId(GOOD), key: '--sign-key' },
      value: { sku: 'A-1', price: 30 },
    })
    expect(viaEnv.signature?.reason).toBeUndefined()
    const keyValue = await getJson([url, '|SHOP:k:1:cart:42', '--sign-key', GOOD])
    expect(keyValue).toMatchObject({
      entry: { kind: 'key-value' },
      signature: { status: 'valid' },
      value: [1, 2, 3],
    })
    const human = await runCli(['get', url, key('A-1')], { env: { RAPIDE_SIGN_KEY: GOOD } })
    expectNoKeyShown(human)
    expect(human.stdout).toMatch(
      new RegExp(`^signed\\s+by key ${signingKeyId(GOOD)} \\(--sign-key\\): valid$`, 'm'),
    )
    expect(human.stdout).toContain("{ sku: 'A-1', price: 30 }")
  })

  it('a wrong key: invalid, and the value is not decoded', async () => {
    const entry = await getJson([url, key('A-1'), '--sign-key', WRONG])
    expect(entry).toMatchObject({
      entry: { signedBy: signingKeyId(GOOD), decoded: false },
      signature: { status: 'invalid', keyId: signingKeyId(GOOD) },
    })
    expect(entry.signature?.key).toBeUndefined()
    expect(entry.signature?.reason).toContain('neither --sign-key nor an --accept-key')
    expect(entry).not.toHaveProperty('value')
    const human = await runCli(['get', url, key('A-1'), '--sign-key', WRONG])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^signed\s+by key \w{8}: INVALID: signed by key \w{8}, which is neither/m)
    expect(human.stdout).toContain('not decoded: a signed cache refuses it')
    expect(human.stdout).not.toContain("A-1'")
  })

  it('an accepted older key verifies (--accept-key, or RAPIDE_ACCEPT_KEYS)', async () => {
    const flag = await getJson([
      url,
      key('A-1'),
      '--sign-key',
      WRONG,
      '--accept-key',
      OLD,
      '--accept-key',
      GOOD,
    ])
    expect(flag.signature).toEqual({ status: 'valid', keyId: signingKeyId(GOOD), key: '--accept-key #2' })
    const env = await getJson([url, key('A-1')], {
      RAPIDE_SIGN_KEY: WRONG,
      RAPIDE_ACCEPT_KEYS: `${OLD},${GOOD}`,
    })
    expect(env).toMatchObject({
      signature: { status: 'valid', key: '--accept-key #2' },
      value: { sku: 'A-1' },
    })
  })

  it('an entry edited in the store (checksum fixed): invalid for the good key, and a miss for the app', async () => {
    backend.set(key('A-2'), forged(backend.get(key('A-2')) as Uint8Array, 'A-2', 'B-9'), undefined)
    // Unverified, the edit reads as a good entry: only the signature tells it apart.
    expect(await getJson([url, key('A-2')])).toMatchObject({
      signature: { status: 'unverified' },
      value: { sku: 'B-9', price: 30 },
    })
    const entry = await getJson([url, key('A-2'), '--sign-key', GOOD])
    expect(entry).toMatchObject({
      entry: { kind: 'result', signedBy: signingKeyId(GOOD), decoded: false },
      signature: { status: 'invalid', key: '--sign-key' },
    })
    expect(entry.signature?.reason).toContain('does not match its content and storage key')
    // The same verdict as the cache that wrote it: a miss, recomputed.
    const before = computed.price
    expect(price('A-2')).toEqual({ sku: 'A-2', price: 30 })
    expect(computed.price).toBe(before + 1)
    expect((await getJson([url, key('A-2'), '--sign-key', GOOD])).signature?.status).toBe('valid')
  })

  it('an entry moved to another key: invalid (the storage key is signed)', async () => {
    backend.set(key('A-4'), backend.get(key('A-3')) as Uint8Array, undefined)
    const moved = await getJson([url, key('A-4'), '--sign-key', GOOD])
    expect(moved.signature).toMatchObject({ status: 'invalid', keyId: signingKeyId(GOOD), key: '--sign-key' })
    // Unverified, the copy reads as a good entry: only the key tells it apart.
    expect((await getJson([url, key('A-4')])).signature?.status).toBe('unverified')
  })

  it('an entry edited without fixing its checksum is corrupt, whatever the key', async () => {
    backend.set(key('A-5'), forged(backend.get(key('A-5')) as Uint8Array, 'A-5', 'B-9', false), undefined)
    const entry = await getJson([url, key('A-5'), '--sign-key', GOOD])
    expect(entry.entry).toMatchObject({ kind: 'corrupt', decoded: false, problem: 'checksum mismatch' })
    expect(entry).not.toHaveProperty('signature')
  })

  it('an unsigned entry: "unsigned", which a cache with the key refuses', async () => {
    const plain = await getJson([url, '|PLAIN:k:1:note'])
    expect(plain).toMatchObject({
      entry: { signed: false },
      signature: { status: 'unsigned' },
      value: 'hello',
    })
    const checked = await getJson([url, '|PLAIN:k:1:note', '--sign-key', GOOD])
    expect(checked.signature).toMatchObject({
      status: 'unsigned',
      reason: expect.stringContaining('refuses'),
    })
    const human = await runCli(['get', url, '|PLAIN:k:1:note'])
    expect(human.stdout).toMatch(/^signed\s+no$/m)
  })

  it('bad keys are usage errors (exit 2) that never quote the key', async () => {
    const short = await runCli(['get', url, key('A-1'), '--sign-key', 'tiny-secret'])
    expect(short.code).toBe(2)
    expect(short.stderr).toContain('--sign-key (or RAPIDE_SIGN_KEY) has 11 bytes')
    expect(short.stderr).not.toContain('tiny-secret')
    const shortAccepted = await runCli([
      'get',
      url,
      key('A-1'),
      '--sign-key',
      GOOD,
      '--accept-key',
      'tiny-secret',
    ])
    expect(shortAccepted.code).toBe(2)
    expect(shortAccepted.stderr).toContain('--accept-key has 11 bytes')
    expect(shortAccepted.stderr).not.toContain('tiny-secret')
    const alone = await runCli(['get', url, key('A-1'), '--accept-key', GOOD])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain('--accept-key needs --sign-key')
    expectNoKeyShown(alone)
  })
})
