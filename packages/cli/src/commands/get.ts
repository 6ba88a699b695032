import { inspect } from 'node:util'
import { describeKey, generationKeysOf } from '@rapide/core'
import { CliError, ExitCode } from '../exit-codes.js'
import { renderTable } from '../format/table.js'
import { formatBytes, formatDuration } from '../format/units.js'
import { openStore } from '../open-store.js'
import { describeEntry } from '../stand-in-describe-entry.js'
import { readMany, sizeOf } from '../store-access.js'
import type { Terminal } from '../terminal.js'

export interface GetOptions {
  /** A signing key to verify the entry's signature with (`--sign-key`, else `RAPIDE_SIGN_KEY`). */
  readonly signKey?: string
  readonly json?: boolean
}

/** `rapide get <url> <key>`: one entry, its metadata read back and its value decoded. */
export async function get(
  url: string,
  key: string,
  options: GetOptions,
  terminal: Terminal,
): Promise<ExitCode> {
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
  const entry = describeEntry(stored)
  if (options.json) {
    const { value, ...metadata } = entry
    terminal.out(
      JSON.stringify({
        url: store.label,
        key,
        described: described ?? null,
        entry: { ...metadata, bytes: sizeOf(stored) },
        ...(live === undefined ? {} : { live }),
        value: toJson(value),
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
  if (entry.signed !== undefined) rows.push(['signed', entry.signed ? 'yes' : 'no'])
  if (entry.problem !== undefined) rows.push(['problem', c.red(entry.problem)])
  const table = renderTable(
    [{ header: '' }, { header: '' }],
    rows.map(([label, value]) => [c.dim(label), value]),
  )
  // An unlabelled table: its header row is empty.
  for (const line of table.slice(1)) terminal.out(line)
  if (entry.kind !== 'corrupt') {
    terminal.out(c.dim('value'))
    const shown = inspect(entry.value, { depth: 6, colors: c.isColorSupported, breakLength: 100 })
    for (const line of shown.split('\n')) terminal.out(`  ${line}`)
  }
  return ExitCode.ok
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
