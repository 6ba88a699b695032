import { InvalidOptionError, readUrlOptions, redactUrl, type UrlOptionSpec } from '@rapide/core'
import type { MemoryBackendOptions } from './memory-backend.js'

/** What a `mem:` URL's query string may hold: every constructor option (none is a callback). */
const URL_OPTIONS: UrlOptionSpec = { maxEntries: 'integer', maxBytes: 'integer' }

/**
 * Reads `mem://?maxEntries=…&maxBytes=…` (or `mem:?…`, `mem://`, `mem:`) into {@link MemoryBackendOptions}.
 * A memory backend lives in this process: a host, a path or credentials would mean something that does
 * not exist, so each is refused rather than ignored. The values are checked again by the constructor, as
 * options given in code are.
 *
 * @example
 * memoryOptionsFromUrl('mem://?maxEntries=50000') // { maxEntries: 50000 }
 */
export function memoryOptionsFromUrl(url: string): MemoryBackendOptions {
  if (typeof url !== 'string') {
    throw new InvalidOptionError(`MemoryBackend.fromUrl: expected a URL string, got ${typeof url}`)
  }
  const text = url.trim()
  const shown = redactUrl(text)
  const match = /^mem:(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(#.*)?$/is.exec(text)
  if (match === null) {
    throw new InvalidOptionError(`"${shown}" is not a mem: URL (expected mem://?maxEntries=10000)`)
  }
  const [, authority = '', path, query = '', fragment] = match
  if (fragment !== undefined) {
    throw new InvalidOptionError(
      `"${shown}": a mem: URL has no fragment (#…); options go in the query string`,
    )
  }
  if (authority.includes('@')) {
    throw new InvalidOptionError(
      `"${shown}": a mem: URL takes no credentials (the cache lives in this process)`,
    )
  }
  if (authority !== '' || path !== '') {
    throw new InvalidOptionError(
      `"${shown}": a mem: URL names no host and no path (the cache lives in this process); write mem://?maxEntries=10000`,
    )
  }
  return readUrlOptions(new URLSearchParams(query), URL_OPTIONS, 'mem: URL') as MemoryBackendOptions
}
