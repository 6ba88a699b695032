import { createHash } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'

/** Argument keys longer than this are replaced by a hash, so long argument lists never make long keys. */
const MAX_ARGUMENT_KEY_LENGTH = 64

const SEGMENT_ESCAPES: Readonly<Record<string, string>> = { '%': '%25', ':': '%3A', '{': '%7B', '}': '%7D' }

/**
 * Escapes a user-given name so it cannot contain the `:` that separates key segments (domain `"a:b"`
 * with function `"c"` and domain `"a"` with function `"b:c"` must never meet), nor the braces that
 * name a key's group.
 */
function escapeSegment(segment: string): string {
  return segment.replace(/[%:{}]/g, (c) => SEGMENT_ESCAPES[c]!)
}

/**
 * Refuses a user-given name that is not well-formed Unicode. A lone surrogate has no UTF-8 form: a backend
 * storing keys as UTF-8 (SQLite, Redis, file names) would turn it into U+FFFD, and two names would meet.
 */
export function assertWellFormed(name: string, what: string): string {
  if (!name.isWellFormed()) {
    throw new InvalidOptionError(
      `${what} ${JSON.stringify(name)} contains a lone surrogate: keys must be well-formed Unicode`,
    )
  }
  return name
}

/**
 * Where everything a cache stores lives in the backend's flat key space. One namespace per domain
 * (`D` is the escaped domain name, which holds no `:`, `{` or `}`):
 *
 * ```
 * {keyPrefix}D:{D}:@g                                    domain generation (shared backends)
 * {keyPrefix}D:{D}:f:{function}:{version}:@g             function generation
 * {keyPrefix}D:{D}:f:{function}:{version}:g:{arguments}  a result's generation
 * {keyPrefix}D:r:{function}:{version}:{}{arguments}      a cached result
 * {keyPrefix}D:c:{function}:{version}:{}{arguments}      who computes it (the `lock` option of `wrap`)
 * {keyPrefix}D:k:{version}:{key}                         key-value API
 * {keyPrefix}D:l:{name}                                  locks
 * ```
 *
 * Results live apart from generations so that what an invalidation makes dead is one prefix: `D:r:`
 * for the domain, `D:r:{function}:{version}:` for a function (see `Backend.reclaimPrefix`).
 *
 * Keys name their group the way Redis Cluster does (see "Key groups" on `Backend`): the first `{…}` with
 * something inside. Every generation of a domain is in the group `{D}`, so an invalidation batch (one
 * `setMany` of generations) is atomic on a partitioned store too. A result's `{}` is empty on purpose:
 * braces inside the encoded arguments (objects) must not pick a group, so results spread over the whole
 * store by their full key. Key-value keys carry the user's own `{tag}` if they have one.
 *
 * Every key is well-formed Unicode: user names are checked, arguments are encoded well-formed.
 */
export class KeyLayout {
  readonly namespace: string
  /** Where the domain's generations live: one group per domain. */
  private readonly generationNamespace: string
  readonly domainGeneration: string

  constructor(
    keyPrefix: string,
    domainKey: string,
    readonly defaultVersion: string,
  ) {
    const domain = escapeSegment(assertWellFormed(domainKey, 'domainKey'))
    this.namespace = `${assertWellFormed(keyPrefix, 'keyPrefix')}${domain}:`
    this.generationNamespace = `${this.namespace}{${domain}}:`
    this.domainGeneration = `${this.generationNamespace}@g`
  }

  /** The namespace of one wrapped function's generations. */
  functionNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.generationNamespace}f:${this.functionSegments(functionKey, version)}`
  }

  /** The prefix of one wrapped function's results (ending in the empty group `{}`). */
  resultNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}r:${this.functionSegments(functionKey, version)}{}`
  }

  /** The prefix of one wrapped function's computation locks (the `lock` option of `wrap`). */
  computationLockNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}c:${this.functionSegments(functionKey, version)}{}`
  }

  /** The prefix of every result of the domain. */
  get allResults(): string {
    return `${this.namespace}r:`
  }

  private functionSegments(functionKey: string, version: string): string {
    const name = escapeSegment(assertWellFormed(functionKey, 'Function key'))
    return `${name}:${escapeSegment(assertWellFormed(version, 'Version'))}:`
  }

  keyValue(key: string, version: string = this.defaultVersion): string {
    return `${this.keyValueNamespace(version)}${assertWellFormed(key, 'Key')}`
  }

  keyValueNamespace(version: string = this.defaultVersion): string {
    return `${this.namespace}k:${escapeSegment(version)}:`
  }

  lock(name: string): string {
    return `${this.namespace}l:${assertWellFormed(name, 'Lock name')}`
  }
}

/** Key names inside a function namespace. */
export const functionGenerationSuffix = '@g'
export const resultGenerationPrefix = 'g:'

/**
 * Bounds an encoded argument list: short ones stay readable, long ones become a SHA-256 digest.
 * A canonical encoding never starts with `#`, so a digest never meets a readable key.
 */
export function boundArgumentKey(encoded: string): string {
  if (encoded.length <= MAX_ARGUMENT_KEY_LENGTH) return encoded
  return `#${createHash('sha256').update(encoded).digest('base64url')}`
}
