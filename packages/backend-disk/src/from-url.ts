import { resolve } from 'node:path'
import { InvalidOptionError, readUrlOptions, redactUrl, type UrlOptionSpec } from '@rapide/core'
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
  const { path, query } = splitLocalUrl(url, 'disk', 'DiskBackend', 'directory')
  for (const name of Object.keys(NOT_IN_QUERY)) {
    if (query.has(name)) throw new InvalidOptionError(`disk: URL: option "${name}": ${NOT_IN_QUERY[name]}`)
  }
  const options = readUrlOptions(query, URL_OPTIONS, 'disk: URL') as DiskBackendOptions
  return path === undefined ? options : { ...options, directory: path }
}

/**
 * Splits a URL naming a file or directory of this machine into its decoded, absolute path (`undefined`
 * for none: the default place) and its query. Parsed by hand rather than with `new URL`, whose errors
 * quote the whole input and which reads `disk:./x` and `disk:///x` by rules of its own.
 */
function splitLocalUrl(
  url: string,
  scheme: string,
  owner: string,
  what: string,
): { path: string | undefined; query: URLSearchParams } {
  if (typeof url !== 'string') {
    throw new InvalidOptionError(`${owner}.fromUrl: expected a URL string, got ${typeof url}`)
  }
  const text = url.trim()
  const shown = redactUrl(text)
  const match = new RegExp(`^${scheme}:(?://([^/?#]*))?([^?#]*)(?:\\?([^#]*))?(#.*)?$`, 'is').exec(text)
  if (match === null) {
    throw new InvalidOptionError(`"${shown}" is not a ${scheme}: URL (expected ${scheme}:///absolute/path)`)
  }
  const [, authority = '', rawPath = '', query = '', fragment] = match
  if (fragment !== undefined) {
    throw new InvalidOptionError(
      `"${shown}": a ${scheme}: URL has no fragment; write a # that is part of the ${what} as %23`,
    )
  }
  if (authority.includes('@')) {
    throw new InvalidOptionError(
      `"${shown}": a ${scheme}: URL takes no credentials (it names a local ${what})`,
    )
  }
  if (authority !== '') {
    throw new InvalidOptionError(
      `"${shown}": a ${scheme}: URL names a ${what} of this machine, not a host ("${authority}"): write ${scheme}:///absolute/path (three slashes) or ${scheme}:./relative/path`,
    )
  }
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    throw new InvalidOptionError(`"${shown}": the ${what} has a malformed percent-escape`)
  }
  if (path === '') return { path: undefined, query: new URLSearchParams(query) }
  if (path.includes('\0')) throw new InvalidOptionError(`"${shown}": the ${what} holds a NUL character`)
  if (path.startsWith('~')) {
    throw new InvalidOptionError(
      `"${shown}": ~ is not expanded in a ${scheme}: URL (it would name a folder called ~): write the absolute path`,
    )
  }
  // `disk:///C:/cache` keeps the slash before the drive letter, as `file:` URLs do.
  if (process.platform === 'win32' && /^\/[A-Za-z]:[/\\]/.test(path)) path = path.slice(1)
  else if (process.platform !== 'win32' && /^\/?[A-Za-z]:[/\\]|^\\\\/.test(path)) {
    throw new InvalidOptionError(
      `"${shown}" names a Windows path (a drive letter or \\\\server), and this is ${process.platform}: write a path of this machine`,
    )
  }
  // Absolute now, against the working directory of the call: a later chdir must not move the cache.
  return { path: resolve(path), query: new URLSearchParams(query) }
}
