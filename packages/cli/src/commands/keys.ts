import { compileGlob, type DescribedKey, describeKey } from '@rapide/core'
import { ExitCode } from '../exit-codes.js'
import { type Column, renderTable } from '../format/table.js'
import { asCliError, openStore } from '../open-store.js'
import { listingPrefix, type Scope } from '../scope.js'
import { listKeys } from '../store-access.js'
import type { Terminal } from '../terminal.js'

export interface KeysOptions extends Scope {
  /** At most this many keys (0: all). */
  readonly limit: number
  readonly raw?: boolean
  readonly json?: boolean
}

/** `rapide keys <url> [pattern]`: the keys of a store, read back into domain, function and arguments. */
export async function keys(
  url: string,
  pattern: string | undefined,
  options: KeysOptions,
  terminal: Terminal,
): Promise<ExitCode> {
  let matcher: ReturnType<typeof compileGlob> | undefined
  try {
    matcher = pattern === undefined ? undefined : compileGlob(pattern)
  } catch (error) {
    throw asCliError(error)
  }
  const prefix = listingPrefix(options)
  const store = openStore(url)
  const found: string[] = []
  let truncated = false
  try {
    const listing = await listKeys(store.backend, prefix, store.label)
    for await (const key of listing.keys) {
      if (matcher !== undefined && !matcher.test(key)) continue
      if (options.limit > 0 && found.length >= options.limit) {
        truncated = true
        break
      }
      found.push(key)
    }
  } finally {
    await store.close()
  }
  found.sort()
  const described = found.map((key) => ({ key, described: describeKey(key) }))
  if (options.json) {
    terminal.out(
      JSON.stringify({
        url: store.label,
        keys: described.map(({ key, described }) => ({ key, ...(described ?? { kind: 'foreign' }) })),
        truncated,
      }),
    )
  } else if (options.raw) {
    for (const { key } of described) terminal.out(key)
  } else {
    printTable(described, terminal)
  }
  if (truncated && !options.json) {
    terminal.err(
      terminal.errColor.yellow(
        `… more keys than --limit ${options.limit}: the first ${options.limit} listed are shown`,
      ),
    )
  }
  return ExitCode.ok
}

function printTable(
  rows: readonly { key: string; described: DescribedKey | undefined }[],
  terminal: Terminal,
): void {
  const c = terminal.color
  if (rows.length === 0) {
    terminal.err('no keys')
    return
  }
  const withPrefix = rows.some(({ described }) => described !== undefined && described.keyPrefix !== '')
  const columns: Column[] = [
    ...(withPrefix ? [{ header: 'PREFIX' }] : []),
    { header: 'DOMAIN' },
    { header: 'KIND' },
    { header: 'FUNCTION' },
    { header: 'VERSION' },
    { header: 'ARGUMENTS / NAME' },
  ]
  const table = rows.map(({ key, described: d }) => {
    if (d === undefined) return [...(withPrefix ? [''] : []), c.dim('-'), c.dim('foreign'), '', '', key]
    const detail =
      d.argumentKey !== undefined
        ? d.argumentKey
        : d.name !== undefined
          ? d.name
          : d.kind === 'foreign'
            ? key
            : ''
    const window = d.window === undefined ? '' : c.dim(` @${d.window}`)
    return [
      ...(withPrefix ? [d.keyPrefix] : []),
      d.domain,
      d.kind === 'result' ? c.green(d.kind) : d.kind === 'foreign' ? c.yellow(d.kind) : c.dim(d.kind),
      d.functionKey ?? '',
      d.version ?? '',
      detail + window,
    ]
  })
  for (const line of renderTable(columns, table, c.bold)) terminal.out(line)
}
