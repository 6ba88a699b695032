import { InvalidOptionError, readLocalPathUrl, readUrlOptions, type UrlOptionSpec } from '@rapide/core'
import type { DiskBackendOptions } from './options.js'

/**
 * What a `disk:` URL's query string may hold: every constructor option but `directory` (the URL's path)
 * and `onCorruptFile` (a function: code only).
 */
const URL_OPTIONS: UrlOptionSpec = {
  maxBytes: 'integer',
  lockTimeout: 'duration',
  busyTimeout: 'duration',
  pruneInterval: 'duration-or-false',
  openFiles: 'integer',
}

/** Options that exist but cannot be written in a URL, with where they go instead. */
const NOT_IN_QUERY: Readonly<Record<string, string>> = {
  directory: 'the directory is the path of the URL: disk:///var/cache/app or disk:./cache',
  onCorruptFile: 'onCorruptFile is a function: pass it to new DiskBackend({ onCorruptFile }) in code',
}

/**
 * Reads a `disk:` URL into {@link DiskBackendOptions}:
 *
 * - `disk:///var/cache/app`: an absolute directory (`disk:/var/cache/app` too);
 * - `disk:./cache` or `disk:cache`: relative to the working directory, resolved now;
 * - `disk://` or `disk:`: the default directory;
 * - `disk:///C:/cache` on Windows: a drive path;
 * - the path is percent-decoded (`my%20cache` is `my cache`; write `#` as `%23`, `?` as `%3F`);
 * - options in the query string: `maxBytes`, `lockTimeout`, `busyTimeout`, `pruneInterval`, `openFiles`.
 *
 * A host (`disk://server/…`), credentials, a fragment and `~` (never expanded) are refused.
 *
 * @example
 * diskOptionsFromUrl('disk:///var/cache/app?maxBytes=1000000000') // { directory: '/var/cache/app', maxBytes: 1e9 }
 */
export function diskOptionsFromUrl(url: string): DiskBackendOptions {
  const { path, query } = readLocalPathUrl(url, { scheme: 'disk', owner: 'DiskBackend', what: 'directory' })
  for (const name of Object.keys(NOT_IN_QUERY)) {
    if (query.has(name)) throw new InvalidOptionError(`disk: URL: option "${name}": ${NOT_IN_QUERY[name]}`)
  }
  const options = readUrlOptions(query, URL_OPTIONS, 'disk: URL') as DiskBackendOptions
  return path === undefined ? options : { ...options, directory: path }
}
