import { InvalidOptionError, readLocalPathUrl, readUrlOptions, type UrlOptionSpec } from '@rapide/core'
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
  // `sqlite://:memory:` puts SQLite's name where a host would be: read as `sqlite::memory:`.
  const text = typeof url === 'string' ? url.trim().replace(/^(sqlite:)\/\/(?=:memory:)/i, '$1') : url
  const { path, written, query, shown } = readLocalPathUrl(text, {
    scheme: 'sqlite',
    owner: 'SqliteBackend',
    what: 'file name',
  })
  for (const name of Object.keys(NOT_IN_QUERY)) {
    if (query.has(name)) throw new InvalidOptionError(`sqlite: URL: option "${name}": ${NOT_IN_QUERY[name]}`)
  }
  const { readCache, ...read } = readUrlOptions(query, URL_OPTIONS, 'sqlite: URL')
  const options = read as SqliteBackendOptions
  if (readCache !== undefined) options.readCache = readCacheOf(readCache as string)
  if (written === ':memory:') return { ...options, path: ':memory:' }
  // SQLite's name is case-sensitive: `:MEMORY:` would be a file of that name.
  if (written.toLowerCase() === ':memory:') {
    throw new InvalidOptionError(
      `"${shown}": SQLite's in-memory database is written in lower case, sqlite::memory: (another casing would be a file of that name)`,
    )
  }
  if (path !== undefined && /[/\\]:memory:$/i.test(path)) {
    throw new InvalidOptionError(
      `"${shown}" names a file called ":memory:"; an in-memory database is sqlite::memory: or sqlite://:memory:`,
    )
  }
  return path === undefined ? options : { ...options, path }
}

/** `readCache=4096` or `readCache=false`. */
function readCacheOf(text: string): number | false {
  if (text === 'false') return false
  if (/^\d+$/.test(text)) return Number(text)
  throw new InvalidOptionError(
    `sqlite: URL: option "readCache" must be a whole number or false, got ${JSON.stringify(text)}`,
  )
}
