import { resolve } from 'node:path'
import { InvalidOptionError, readUrlOptions, redactUrl, type UrlOptionSpec } from '@rapide/core'
import type { SqliteBackendOptions } from './options.js'

/**
 * What a `sqlite:` URL's query string may hold: every constructor option but `path` (the URL's path) and
 * `database` (an object: code only). `readCache` takes a number or `false`, read below.
 */
const URL_OPTIONS: UrlOptionSpec = {
  table: 'string',
  busyTimeout: 'duration',
  maxEntries: 'integer',
  maxBytes: 'integer',
  sweepInterval: 'duration-or-false',
  onCorrupt: ['throw', 'rebuild'],
  readCache: 'string',
  fileCheckInterval: 'duration',
}

/** Options that exist but cannot be written in a URL, with where they go instead. */
const NOT_IN_QUERY: Readonly<Record<string, string>> = {
  path: 'the file is the path of the URL: sqlite:///var/cache/app.db, sqlite:./cache.db or sqlite::memory:',
  database:
    'database is an open better-sqlite3 connection: pass it to new SqliteBackend({ database }) in code',
}

/**
 * Reads a `sqlite:` URL into {@link SqliteBackendOptions}:
 *
 * - `sqlite:///var/cache/app.db`: an absolute file (`sqlite:/var/cache/app.db` too);
 * - `sqlite:./cache.db` or `sqlite:cache.db`: relative to the working directory, resolved now;
 * - `sqlite://` or `sqlite:`: the default file;
 * - `sqlite::memory:` or `sqlite://:memory:`: a private in-memory database;
 * - `sqlite:///C:/cache/app.db` on Windows: a drive path;
 * - the path is percent-decoded (`my%20app.db` is `my app.db`; write `#` as `%23`, `?` as `%3F`);
 * - options in the query string: `table`, `busyTimeout`, `maxEntries`, `maxBytes`, `sweepInterval`,
 *   `onCorrupt`, `readCache`, `fileCheckInterval`.
 *
 * A host (`sqlite://server/…`), credentials, a fragment and `~` (never expanded) are refused.
 *
 * @example
 * sqliteOptionsFromUrl('sqlite:///var/cache/app.db?maxEntries=100000') // { path: '/var/cache/app.db', maxEntries: 100000 }
 */
export function sqliteOptionsFromUrl(url: string): SqliteBackendOptions {
  if (typeof url !== 'string') {
    throw new InvalidOptionError(`SqliteBackend.fromUrl: expected a URL string, got ${typeof url}`)
  }
  const text = url.trim()
  const shown = redactUrl(text)
  // By hand: `new URL` refuses `:memory:` as a host, quotes the whole input in its errors, and reads
  // `sqlite:./x` and `sqlite:///x` by rules of its own.
  const match = /^sqlite:(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(#.*)?$/is.exec(text)
  if (match === null) {
    throw new InvalidOptionError(`"${shown}" is not a sqlite: URL (expected sqlite:///absolute/path.db)`)
  }
  const [, authority, rawPath = '', rawQuery = '', fragment] = match
  if (fragment !== undefined) {
    throw new InvalidOptionError(
      `"${shown}": a sqlite: URL has no fragment; write a # that is part of the file name as %23`,
    )
  }
  const query = new URLSearchParams(rawQuery)
  for (const name of Object.keys(NOT_IN_QUERY)) {
    if (query.has(name)) throw new InvalidOptionError(`sqlite: URL: option "${name}": ${NOT_IN_QUERY[name]}`)
  }
  const { readCache, ...read } = readUrlOptions(query, URL_OPTIONS, 'sqlite: URL')
  const options = read as SqliteBackendOptions
  if (readCache !== undefined) options.readCache = readCacheOf(readCache as string)
  // The in-memory database, as SQLite names it: `sqlite::memory:`, or `sqlite://:memory:` where it stands
  // in the host's place.
  // SQLite's name is case-sensitive (`:MEMORY:` would be a file): any other casing is refused below.
  const inMemory =
    authority === undefined ? rawPath === ':memory:' : authority === ':memory:' && rawPath === ''
  if (!inMemory && /^:memory:$/i.test(authority ?? rawPath)) {
    throw new InvalidOptionError(
      `"${shown}": SQLite's in-memory database is written in lower case, sqlite::memory: (another casing would be a file of that name)`,
    )
  }
  if (inMemory) return { ...options, path: ':memory:' }
  const path = localPath(authority ?? '', rawPath, shown)
  return path === undefined ? options : { ...options, path }
}

/** The decoded, absolute file a URL's path names; `undefined` for none (the default file). */
function localPath(authority: string, rawPath: string, shown: string): string | undefined {
  if (authority.includes('@')) {
    throw new InvalidOptionError(`"${shown}": a sqlite: URL takes no credentials (it names a local file)`)
  }
  if (authority !== '') {
    throw new InvalidOptionError(
      `"${shown}": a sqlite: URL names a file of this machine, not a host ("${authority}"): write sqlite:///absolute/path.db (three slashes), sqlite:./relative.db or sqlite::memory:`,
    )
  }
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    throw new InvalidOptionError(`"${shown}": the file name has a malformed percent-escape`)
  }
  if (path === '') return undefined
  if (path.includes('\0')) throw new InvalidOptionError(`"${shown}": the file name holds a NUL character`)
  if (/(^|[/\\]):memory:$/i.test(path)) {
    throw new InvalidOptionError(
      `"${shown}" names a file called ":memory:"; an in-memory database is sqlite::memory: or sqlite://:memory:`,
    )
  }
  if (path.startsWith('~')) {
    throw new InvalidOptionError(
      `"${shown}": ~ is not expanded in a sqlite: URL (it would name a folder called ~): write the absolute path`,
    )
  }
  // `sqlite:///C:/cache/app.db` keeps the slash before the drive letter, as `file:` URLs do.
  if (process.platform === 'win32' && /^\/[A-Za-z]:[/\\]/.test(path)) path = path.slice(1)
  else if (process.platform !== 'win32' && /^\/?[A-Za-z]:[/\\]|^\\\\/.test(path)) {
    throw new InvalidOptionError(
      `"${shown}" names a Windows path (a drive letter or \\\\server), and this is ${process.platform}: write a path of this machine`,
    )
  }
  // Absolute now, against the working directory of the call: a later chdir must not move the cache.
  return resolve(path)
}

/** `readCache=4096` or `readCache=false`. */
function readCacheOf(text: string): number | false {
  if (text === 'false') return false
  if (/^\d+$/.test(text)) return Number(text)
  throw new InvalidOptionError(
    `sqlite: URL: option "readCache" must be a whole number or false, got ${JSON.stringify(text)}`,
  )
}
