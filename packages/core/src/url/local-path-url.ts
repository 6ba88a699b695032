import { resolve } from 'node:path'
import { InvalidOptionError } from '../errors.js'
import { redactUrl } from './redact-url.js'

/** What {@link readLocalPathUrl} reads from a URL that names a file or directory of this machine. */
export interface LocalPathUrl {
  /** The decoded path, made absolute against the working directory now; `undefined` for none (the default place). */
  readonly path: string | undefined
  /** The path exactly as written in the URL (not decoded), for names a backend reads itself (`:memory:`). */
  readonly written: string
  /** The query string, for {@link readUrlOptions}. */
  readonly query: URLSearchParams
  /** The URL with its secrets hidden, for messages. */
  readonly shown: string
}

/**
 * Reads a URL naming a file or directory of this machine (`disk:///var/cache/app`, `sqlite:./cache.db`),
 * the rules every such backend shares:
 *
 * - `scheme:///absolute/path` (or `scheme:/absolute/path`) is absolute; `scheme:./relative` or
 *   `scheme:relative` is resolved against the working directory now (a later `chdir` must not move the
 *   store); `scheme://` or `scheme:` alone names no path (the backend's default place);
 * - the path is percent-decoded (`my%20cache`; write `#` as `%23`, `?` as `%3F`);
 * - refused: a host or credentials (`scheme://server/…`), a fragment, a malformed escape, a NUL, a leading
 *   `~` (never expanded), and a Windows path (drive letter, `\\server`) on another system; on Windows,
 *   `scheme:///C:/dir` keeps the slash before the drive letter as `file:` URLs do, and it is dropped.
 *
 * Parsed by hand rather than with `new URL`, whose errors quote the whole input (password included) and
 * which reads `scheme:./x` and `scheme:///x` by rules of its own.
 *
 * @example
 * // In a backend's static fromUrl:
 * const { path, query } = readLocalPathUrl(url, { scheme: 'disk', owner: 'DiskBackend', what: 'directory' })
 */
export function readLocalPathUrl(
  url: string,
  names: { readonly scheme: string; readonly owner: string; readonly what: string },
): LocalPathUrl {
  const { scheme, owner, what } = names
  if (typeof url !== 'string') {
    throw new InvalidOptionError(`${owner}.fromUrl: expected a URL string, got ${typeof url}`)
  }
  const text = url.trim()
  const shown = redactUrl(text)
  const match = new RegExp(`^${scheme}:(?://([^/?#]*))?([^?#]*)(?:\\?([^#]*))?(#.*)?$`, 'is').exec(text)
  if (match === null) {
    throw new InvalidOptionError(`"${shown}" is not a ${scheme}: URL (expected ${scheme}:///absolute/path)`)
  }
  const [, authority = '', written = '', rawQuery = '', fragment] = match
  const query = new URLSearchParams(rawQuery)
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
    path = decodeURIComponent(written)
  } catch {
    throw new InvalidOptionError(`"${shown}": the ${what} has a malformed percent-escape`)
  }
  if (path === '') return { path: undefined, written, query, shown }
  if (path.includes('\0')) throw new InvalidOptionError(`"${shown}": the ${what} holds a NUL character`)
  if (path.startsWith('~')) {
    throw new InvalidOptionError(
      `"${shown}": ~ is not expanded in a ${scheme}: URL (it would name a folder called ~): write the absolute path`,
    )
  }
  if (process.platform === 'win32' && /^\/[A-Za-z]:[/\\]/.test(path)) path = path.slice(1)
  else if (process.platform !== 'win32' && /^\/?[A-Za-z]:[/\\]|^\\\\/.test(path)) {
    throw new InvalidOptionError(
      `"${shown}" names a Windows path (a drive letter or \\\\server), and this is ${process.platform}: write a path of this machine`,
    )
  }
  return { path: resolve(path), written, query, shown }
}
