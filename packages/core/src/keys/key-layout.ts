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

const PREFIX_ESCAPES: Readonly<Record<string, string>> = { '%': '%25', '|': '%7C' }

/**
 * Escapes the user's `keyPrefix` so it holds no `|`, the character that ends it. Braces stay: a prefix
 * with its own `{tag}` deliberately puts everything the cache stores in one group.
 */
function escapePrefix(prefix: string): string {
  return prefix.replace(/[%|]/g, (c) => PREFIX_ESCAPES[c]!)
}

/**
 * A `keyPrefix` with braces must hold one complete, non-empty group (`'{tenant-1}:'`), which then holds
 * everything the cache stores. An empty `{}` or a lone brace would make the layout's own groups
 * meaningless (a result and its generation could land on different partitions), so it is refused.
 */
function assertPrefixGroup(prefix: string): string {
  const open = prefix.indexOf('{')
  const close = prefix.indexOf('}')
  if (open === -1 && close === -1) return prefix
  if (open === -1 || close < open || close === open + 1) {
    throw new InvalidOptionError(
      `keyPrefix ${JSON.stringify(prefix)}: braces name a key group and must hold one complete, non-empty tag such as '{app}:'`,
    )
  }
  return prefix
}

/**
 * Where everything a cache stores lives in the backend's flat key space. One namespace per key prefix and
 * domain, `N = {keyPrefix}|{D}:` (the prefix holds no `|` once escaped, the domain `D` no `:`, `{` or
 * `}`), so no namespace is ever a prefix of another: `('ab', 'c')` and `('a', 'bc')` never meet, and
 * clearing domain `myapp` cannot touch what is stored under `keyPrefix: 'myapp:'`.
 *
 * ```
 * N{D}:@g                              domain generation (shared backends)
 * N{D}:f:{function}:{version}:@g       function generation
 * Ng:{{function}:{version}:{arguments}}  a result's generation
 * Nr:{{function}:{version}:{arguments}}  a cached result
 * Nc:{{function}:{version}:{arguments}}  who computes it (the `lock` option of `wrap`)
 * Nq:{{function}:{version}:{arguments}}@{window}  calls in one period (the `rateLimit` option)
 * Nk:{version}:{key}                   key-value API
 * Nl:{name}                            locks
 * ```
 *
 * Results live apart from generations so that what an invalidation makes dead is one prefix: `Nr:` for
 * the domain, `Nr:{{function}:{version}:` for a function (see `Backend.reclaimPrefix`).
 *
 * Keys name their group the way Redis Cluster does (see "Key groups" on `Backend`): the first `{…}` with
 * something inside. The domain and function generations are in the group `{D}`: a few keys per domain,
 * so the group stays small however many results there are, and function and domain invalidations of a
 * batch are one atomic write on a partitioned store too. A result, its generation and its computation
 * lock share the group `{function}:{version}:{arguments}` (the arguments escaped so they hold no `}`,
 * see `closeGroup`): results spread over the whole store, and the hit path reads a result with its
 * generation from one partition. Key-value keys carry the user's own `{tag}` if they have one.
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
    this.namespace = `${escapePrefix(assertPrefixGroup(assertWellFormed(keyPrefix, 'keyPrefix')))}|${domain}:`
    this.generationNamespace = `${this.namespace}{${domain}}:`
    this.domainGeneration = `${this.generationNamespace}@g`
  }

  /** Where one wrapped function's generation lives (its key is this plus `@g`). */
  functionNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.generationNamespace}f:${this.functionSegments(functionKey, version)}`
  }

  /** The prefix of one wrapped function's results. */
  resultNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}r:{${this.functionSegments(functionKey, version)}`
  }

  /** The prefix of one wrapped function's per-argument result generations. */
  resultGenerationNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}g:{${this.functionSegments(functionKey, version)}`
  }

  /** The prefix of one wrapped function's computation locks (the `lock` option of `wrap`). */
  computationLockNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}c:{${this.functionSegments(functionKey, version)}`
  }

  /** The prefix of one wrapped function's rate-limit counters (the `rateLimit` option of `wrap`). */
  rateLimitNamespace(functionKey: string, version: string = this.defaultVersion): string {
    return `${this.namespace}q:{${this.functionSegments(functionKey, version)}`
  }

  /** The prefix of every result of the domain. */
  get allResults(): string {
    return `${this.namespace}r:`
  }

  /** The prefix of every per-argument result generation of the domain. */
  get allResultGenerations(): string {
    return `${this.namespace}g:`
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

/** The key of a function's generation inside its function namespace. */
export const functionGenerationSuffix = '@g'

/**
 * Ends a result's key group after its arguments (shared coordination). The arguments are escaped so they
 * hold no `}` (nor `%`, to stay unambiguous): the group then runs to the `}` appended here, and a result,
 * its generation and its lock, which share the same tail, always share one partition. Local coordination
 * (one process, nothing partitioned) skips this: its hot path keeps the argument key as it is.
 */
export function closeGroup(argumentKey: string): string {
  const escaped =
    argumentKey.includes('}') || argumentKey.includes('%')
      ? argumentKey.replace(/[%}]/g, (c) => (c === '%' ? '%25' : '%7D'))
      : argumentKey
  return `${escaped}}`
}

/**
 * Bounds an encoded argument list: short ones stay readable, long ones become a SHA-256 digest.
 * A canonical encoding never starts with `#`, so a digest never meets a readable key.
 */
export function boundArgumentKey(encoded: string): string {
  if (encoded.length <= MAX_ARGUMENT_KEY_LENGTH) return encoded
  return `#${createHash('sha256').update(encoded).digest('base64url')}`
}
