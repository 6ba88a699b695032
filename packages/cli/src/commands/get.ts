import { inspect } from 'node:util'
import { describeEntry, describeKey, type EntryDescription, generationKeysOf } from '@rapide/core'
import { CliError, ExitCode } from '../exit-codes.js'
import { renderTable } from '../format/table.js'
import { formatBytes, formatDuration } from '../format/units.js'
import { openStore } from '../open-store.js'
import { acceptedKeysFrom, type SigningKeys, signingKeysOf } from '../signing-keys.js'
import { readMany, sizeOf } from '../store-access.js'
import type { Terminal } from '../terminal.js'

export interface GetOptions {
  /** A signing key to verify the entry's signature with (`--sign-key`, else `RAPIDE_SIGN_KEY`). */
  readonly signKey?: string
  /** Older keys the app still accepts (`--accept-key`, repeatable, else `RAPIDE_ACCEPT_KEYS`). */
  readonly acceptKey?: readonly string[]
  readonly json?: boolean
}

/**
 * What the signature of an entry says: `valid` (verifies for one of the keys given), `invalid` (signed,
 * but not by a key given, or forged, edited or moved from another key), `unsigned`, or `unverified`
 * (signed, and no key given to check it with).
 */
export type SignatureStatus = 'valid' | 'invalid' | 'unsigned' | 'unverified'

/** The signature of an entry, as `get` reports it (absent for what is never signed: counters, tokens). */
export interface SignatureReport {
  readonly status: SignatureStatus
  /** The id of the key the entry names as its signer (8 hex digits, `signingKeyId`). */
  readonly keyId?: string
  /** Which key given on the command line that id is: `--sign-key` or `--accept-key #n`. */
  readonly key?: string
  /** Why it does not verify. */
  readonly reason?: string
}

/** `rapide get <url> <key>`: one entry, its metadata read back and its value decoded. */
export async function get(
  url: string,
  key: string,
  options: GetOptions,
  terminal: Terminal,
): Promise<ExitCode> {
  const keys = signingKeysOf({
    signKey: options.signKey,
    acceptKey: acceptedKeysFrom(options.acceptKey),
  })
  const store = openStore(url)
  let stored: unknown
  let live: boolean | undefined
  try {
    stored = await store.backend.get(key)
    const stampKeys = stored === undefined ? undefined : generationKeysOf(key)
    if (stampKeys !== undefined) {
      const tokens = await readMany(store.backend, stampKeys)
      const current = tokens.map((token) =>
        token instanceof Uint8Array ? Buffer.from(token).toString('utf8') : undefined,
      )
      live = !current.includes(undefined) && describeEntry(stored).stamp === current.join('.')
    }
  } finally {
    await store.close()
  }
  if (stored === undefined) throw new CliError(`${key}: not found in ${store.label}`, ExitCode.notFound)
  const described = describeKey(key)
  // With keys, a value whose signature fails is not decoded: it may be a forger's payload.
  const entry = describeEntry(stored, keys === undefined ? {} : { key, sign: keys.sign })
  const signature = signatureOf(entry, keys)
  // A signature's failure is told once, in the CLI's words (the core's name the cache options).
  const problem = signature?.reason === undefined ? entry.problem : undefined
  if (options.json) {
    const { value, size: _size, signedBy, verified: _verified, problem: _problem, ...metadata } = entry
    terminal.out(
      JSON.stringify({
        url: store.label,
        key,
        described: described ?? null,
        entry: {
          ...metadata,
          ...(entry.serializer === undefined ? {} : { signed: signedBy !== undefined }),
          ...(signedBy === undefined ? {} : { signedBy }),
          ...(problem === undefined ? {} : { problem }),
          bytes: sizeOf(stored),
        },
        ...(signature === undefined ? {} : { signature }),
        ...(live === undefined ? {} : { live }),
        ...(entry.decoded ? { value: toJson(value) } : {}),
      }),
    )
    return ExitCode.ok
  }
  const c = terminal.color
  const rows: [string, string][] = [['key', key]]
  if (described === undefined)
    rows.push(['written by', c.yellow('not rapide (outside every rapide namespace)')])
  else {
    rows.push([
      'domain',
      described.keyPrefix === ''
        ? described.domain
        : `${described.domain} ${c.dim(`(key prefix ${JSON.stringify(described.keyPrefix)})`)}`,
    ])
    rows.push(['kind', described.kind])
    if (described.functionKey !== undefined)
      rows.push(['function', `${described.functionKey} ${c.dim(`version ${described.version}`)}`])
    else if (described.version !== undefined) rows.push(['version', described.version])
    if (described.argumentKey !== undefined) rows.push(['arguments', described.argumentKey])
    if (described.name !== undefined) rows.push([described.kind === 'lock' ? 'lock' : 'name', described.name])
  }
  rows.push([
    'entry',
    `${entry.kind}${entry.serializer === undefined ? '' : `, ${entry.serializer} serializer`}, ${formatBytes(sizeOf(stored))}`,
  ])
  if (entry.storedAt) {
    const ago = Date.now() - entry.storedAt
    rows.push([
      'stored',
      `${new Date(entry.storedAt).toISOString()} ${c.dim(`(${formatDuration(Math.max(0, ago))} ago)`)}`,
    ])
  }
  if (entry.computeMs) rows.push(['computed in', formatDuration(entry.computeMs)])
  if (live !== undefined) {
    rows.push([
      'state',
      live
        ? c.green('live')
        : c.yellow('dead: an invalidation since it was stored (a miss for every reader)'),
    ])
  }
  if (signature !== undefined) rows.push(['signed', describeSignature(signature, terminal)])
  if (problem !== undefined) rows.push(['problem', c.red(problem)])
  const table = renderTable(
    [{ header: '' }, { header: '' }],
    rows.map(([label, value]) => [c.dim(label), value]),
  )
  // An unlabelled table: its header row is empty.
  for (const line of table.slice(1)) terminal.out(line)
  terminal.out(c.dim('value'))
  if (entry.decoded) {
    const shown = inspect(entry.value, { depth: 6, colors: c.isColorSupported, breakLength: 100 })
    for (const line of shown.split('\n')) terminal.out(`  ${line}`)
  } else if (signature?.status === 'invalid' || (signature?.status === 'unsigned' && keys !== undefined)) {
    terminal.out(`  ${c.dim('not decoded: a signed cache refuses it, and its payload may be a forgery')}`)
  } else terminal.out(`  ${c.dim('not decoded')}`)
  return ExitCode.ok
}

/** The signature verdict of an entry, with the key it names read back into the option that gave it. */
function signatureOf(entry: EntryDescription, keys: SigningKeys | undefined): SignatureReport | undefined {
  // Only envelopes (results and key-value values) carry signatures; a checksum failure hides the flags.
  if (entry.serializer === undefined) return undefined
  const keyId = entry.signedBy
  if (keyId === undefined) {
    return keys === undefined
      ? { status: 'unsigned' }
      : { status: 'unsigned', reason: 'not signed: a cache with these keys refuses it' }
  }
  const key = keys?.origins.get(keyId)
  const named = { keyId, ...(key === undefined ? {} : { key }) }
  if (keys === undefined || entry.verified === undefined) return { status: 'unverified', ...named }
  if (entry.verified) return { status: 'valid', ...named }
  return {
    status: 'invalid',
    ...named,
    reason:
      key === undefined
        ? `signed by key ${keyId}, which is neither --sign-key nor an --accept-key (another app's key, or a forger's)`
        : `the signature does not match its content and storage key: edited, forged, or moved from another key`,
  }
}

function describeSignature(signature: SignatureReport, terminal: Terminal): string {
  const c = terminal.color
  const by =
    signature.keyId === undefined
      ? ''
      : `by key ${signature.keyId}${signature.key === undefined ? '' : ` (${signature.key})`}`
  switch (signature.status) {
    case 'valid':
      return `${by}: ${c.green('valid')}`
    case 'unverified':
      return `${by} ${c.dim('(not verified: pass --sign-key or set RAPIDE_SIGN_KEY)')}`
    case 'unsigned':
      return signature.reason === undefined ? 'no' : c.red(`no: ${signature.reason}`)
    case 'invalid':
      return `${by}: ${c.red(`INVALID: ${signature.reason}`)}`
  }
}

/** A decoded value as JSON can carry it: what JSON cannot (a Map, a BigInt, a Buffer) is shown as `inspect` writes it. */
function toJson(value: unknown): unknown {
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return { inspected: inspect(value) }
    const back = JSON.parse(text)
    return inspect(back, { depth: Infinity }) === inspect(value, { depth: Infinity })
      ? value
      : { inspected: inspect(value, { depth: 6 }) }
  } catch {
    return { inspected: inspect(value, { depth: 6 }) }
  }
}
