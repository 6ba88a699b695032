import { createHash } from 'node:crypto'

/** Argument keys longer than this are replaced by a hash, so long argument lists never make long keys. */
const MAX_ARGUMENT_KEY_LENGTH = 64

/**
 * Escapes a user-given name so it cannot contain the `:` that separates key segments: domain
 * `"a:b"` with function `"c"` and domain `"a"` with function `"b:c"` must never meet.
 */
function escapeSegment(segment: string): string {
  return segment.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))
}

/**
 * Where everything a cache stores lives in the backend's flat key space. One namespace per domain:
 *
 * ```
 * {keyPrefix}{domain}:@g                          domain generation (shared backends)
 * {keyPrefix}{domain}:f:{function}:{version}:@g   function generation
 * {keyPrefix}{domain}:f:{function}:{version}:r:{arguments}   a cached result
 * {keyPrefix}{domain}:f:{function}:{version}:g:{arguments}   a result's generation
 * {keyPrefix}{domain}:k:{version}:{key}           key-value API
 * {keyPrefix}{domain}:l:{name}                    locks
 * ```
 */
export class KeyLayout {
  readonly namespace: string
  readonly domainGeneration: string

  constructor(
    keyPrefix: string,
    domainKey: string,
    readonly defaultVersion: string,
  ) {
    this.namespace = `${keyPrefix}${escapeSegment(domainKey)}:`
    this.domainGeneration = `${this.namespace}@g`
  }

  /** The namespace of one wrapped function's results. */
  functionNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}f:${escapeSegment(functionKey)}:${escapeSegment(version)}:`
  }

  keyValue(key: string, version: string = this.defaultVersion): string {
    return `${this.keyValueNamespace(version)}${key}`
  }

  keyValueNamespace(version: string = this.defaultVersion): string {
    return `${this.namespace}k:${escapeSegment(version)}:`
  }

  lock(name: string): string {
    return `${this.namespace}l:${name}`
  }
}

/** Key names inside a function namespace. */
export const functionGenerationSuffix = '@g'
export const resultPrefix = 'r:'
export const resultGenerationPrefix = 'g:'

/**
 * Bounds an encoded argument list: short ones stay readable, long ones become a SHA-256 digest.
 * A canonical encoding never starts with `#`, so a digest never meets a readable key.
 */
export function boundArgumentKey(encoded: string): string {
  if (encoded.length <= MAX_ARGUMENT_KEY_LENGTH) return encoded
  return `#${createHash('sha256').update(encoded).digest('base64url')}`
}
