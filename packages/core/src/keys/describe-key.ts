import { closeGroup, functionGenerationSuffix, KeyLayout } from './key-layout.js'

/**
 * What one storage key holds, by the key layout of `key-layout.ts`:
 *
 * - `result`: a cached result of a wrapped function;
 * - `result-generation`: the generation of one result (or an invalidation marker for it);
 * - `domain-generation` / `function-generation`: what `invalidateDomain` / `invalidateFunc` replace;
 * - `computation-lock`: who computes a result (the `lock` option of `wrap`);
 * - `rate-limit`: calls counted in one period (the `rateLimit` option of `wrap`);
 * - `key-value`: a value of the key-value API (`cache.set`, `cache.incr`…);
 * - `lock`: a lock of `cache.lock`;
 * - `foreign`: inside a rapide namespace, but not a shape this version writes.
 */
export type KeyKind =
  | 'result'
  | 'result-generation'
  | 'domain-generation'
  | 'function-generation'
  | 'computation-lock'
  | 'rate-limit'
  | 'key-value'
  | 'lock'
  | 'foreign'

/** A storage key read back into the names it was built from, every escape undone. */
export interface DescribedKey {
  /** The cache's `keyPrefix` (`''` when none). */
  readonly keyPrefix: string
  /** The cache's `domainKey`. */
  readonly domain: string
  readonly kind: KeyKind
  /** The wrapped function's key (results, their generations, locks and rate limits, function generations). */
  readonly functionKey?: string
  /** The function's version, or the key-value version (`'1'` unless the cache or call chose one). */
  readonly version?: string
  /**
   * The call's encoded arguments (`n1`, `"a"`, `(n1,"b")`…), or `#` and a SHA-256 digest when they were
   * longer than 64 characters.
   */
  readonly argumentKey?: string
  /** The key of a key-value entry, or the name of a lock. */
  readonly name?: string
  /** The period number of a rate-limit counter (`Date.now()` divided by the period, rounded down). */
  readonly window?: number
}

const SEGMENT_ESCAPE = /%(25|3A|7B|7D)/g
const SEGMENT_UNESCAPES: Readonly<Record<string, string>> = { '25': '%', '3A': ':', '7B': '{', '7D': '}' }
const PREFIX_ESCAPE = /%(25|7C)/g
const PREFIX_UNESCAPES: Readonly<Record<string, string>> = { '25': '%', '7C': '|' }
const ARGUMENT_ESCAPE = /%(25|7D)/g
const ARGUMENT_UNESCAPES: Readonly<Record<string, string>> = { '25': '%', '7D': '}' }

/**
 * Undoes an escape, or answers `undefined` when `text` could not have come out of it: a `%` that starts
 * no escape, or a character the escape removes (`forbidden`).
 */
function undoEscapes(
  text: string,
  escapes: RegExp,
  unescapes: Readonly<Record<string, string>>,
  forbidden: RegExp,
): string | undefined {
  if (forbidden.test(text)) return undefined
  const plain = text.replace(escapes, (_, code: string) => unescapes[code]!)
  // Every `%` of an escaped text starts an escape: one left after undoing them was never escaped.
  const percents = text.split('%').length - 1
  const undone = text.match(escapes)?.length ?? 0
  return percents === undone ? plain : undefined
}

const segment = (text: string) => undoEscapes(text, SEGMENT_ESCAPE, SEGMENT_UNESCAPES, /[:{}]/)

/**
 * Reads a storage key back into what it stores and for whom: the cache's key prefix and domain, and the
 * function, version, arguments or name, every escape undone. Answers `undefined` for a key outside any
 * rapide namespace (no `{keyPrefix}|{domain}:` start), and kind `'foreign'` for a key inside one that no
 * rapide of this version writes.
 *
 * Keys are read as written on a shared store (SQLite, disk, Redis): a result's arguments end its key
 * group (`…:{arguments}}`). The memory backend's keys never leave its process; their arguments are read
 * as they are.
 *
 * @example
 * describeKey('app|SHOP:r:{GET_PRICE:1:"A-1"}')
 * // { keyPrefix: 'app', domain: 'SHOP', kind: 'result', functionKey: 'GET_PRICE', version: '1', argumentKey: '"A-1"' }
 */
export function describeKey(key: string): DescribedKey | undefined {
  const bar = key.indexOf('|')
  if (bar < 0) return undefined
  const domainEnd = key.indexOf(':', bar + 1)
  if (domainEnd < 0) return undefined
  const keyPrefix = undoEscapes(key.slice(0, bar), PREFIX_ESCAPE, PREFIX_UNESCAPES, /\|/)
  const escapedDomain = key.slice(bar + 1, domainEnd)
  const domain = escapedDomain === '' ? undefined : segment(escapedDomain)
  if (keyPrefix === undefined || domain === undefined) return undefined
  const where = { keyPrefix, domain }
  return describeInNamespace(key.slice(domainEnd + 1), escapedDomain, where) ?? { ...where, kind: 'foreign' }
}

function describeInNamespace(
  rest: string,
  escapedDomain: string,
  where: { keyPrefix: string; domain: string },
): DescribedKey | undefined {
  const generations = `{${escapedDomain}}:`
  if (rest.startsWith(generations)) {
    const inGroup = rest.slice(generations.length)
    if (inGroup === '@g') return { ...where, kind: 'domain-generation' }
    if (!inGroup.startsWith('f:') || !inGroup.endsWith(':@g')) return undefined
    const fn = functionSegments(inGroup.slice(2, -2))
    if (fn === undefined || fn.tail !== '') return undefined
    return { ...where, kind: 'function-generation', functionKey: fn.functionKey, version: fn.version }
  }
  const tag = rest.slice(0, 3)
  switch (tag) {
    case 'r:{':
    case 'g:{':
    case 'c:{':
    case 'q:{':
      return describeCall(FUNCTION_KINDS[tag], rest.slice(3), where)
  }
  if (rest.startsWith('k:')) {
    const versionEnd = rest.indexOf(':', 2)
    if (versionEnd < 0) return undefined
    const version = segment(rest.slice(2, versionEnd))
    if (version === undefined) return undefined
    return { ...where, kind: 'key-value', version, name: rest.slice(versionEnd + 1) }
  }
  if (rest.startsWith('l:')) return { ...where, kind: 'lock', name: rest.slice(2) }
  return undefined
}

const FUNCTION_KINDS = {
  'r:{': 'result',
  'g:{': 'result-generation',
  'c:{': 'computation-lock',
  'q:{': 'rate-limit',
} as const

/** `{function}:{version}:{arguments}}` (and `@{window}` after it for a rate limit). */
function describeCall(
  kind: (typeof FUNCTION_KINDS)[keyof typeof FUNCTION_KINDS],
  inGroup: string,
  where: { keyPrefix: string; domain: string },
): DescribedKey | undefined {
  const fn = functionSegments(inGroup)
  if (fn === undefined) return undefined
  const { functionKey, version } = fn
  let { tail } = fn
  let window: number | undefined
  if (kind === 'rate-limit') {
    const at = tail.lastIndexOf('}@')
    if (at < 0 || !/^\d+$/.test(tail.slice(at + 2))) return undefined
    window = Number(tail.slice(at + 2))
    tail = tail.slice(0, at + 1)
  }
  const argumentKey = openGroup(tail, kind === 'rate-limit')
  if (argumentKey === undefined) return undefined
  return {
    ...where,
    kind,
    functionKey,
    version,
    argumentKey,
    ...(window === undefined ? {} : { window }),
  }
}

/** `{function}:{version}:` at the start of `text`, escapes undone, and what follows. */
function functionSegments(text: string): { functionKey: string; version: string; tail: string } | undefined {
  const nameEnd = text.indexOf(':')
  const versionEnd = nameEnd < 0 ? -1 : text.indexOf(':', nameEnd + 1)
  if (versionEnd < 0) return undefined
  const functionKey = segment(text.slice(0, nameEnd))
  const version = segment(text.slice(nameEnd + 1, versionEnd))
  if (functionKey === undefined || version === undefined || functionKey === '') return undefined
  return { functionKey, version, tail: text.slice(versionEnd + 1) }
}

/**
 * The argument key inside a closed group (`closeGroup` in key-layout.ts): escaped so that it holds no `}`,
 * then `}`. Without that final `}` it is a memory backend's key, kept as it is unless it holds a `}`
 * (then it cannot be told from a damaged shared key, and is foreign); `closed` requires the group.
 */
function openGroup(tail: string, closed: boolean): string | undefined {
  if (tail.endsWith('}')) return undoEscapes(tail.slice(0, -1), ARGUMENT_ESCAPE, ARGUMENT_UNESCAPES, /\}/)
  return closed || tail === '' || tail.includes('}') ? undefined : tail
}

/**
 * Where every key of a domain starts (`{keyPrefix}|{domain}:`, escaped as the cache escapes them), or
 * without a domain, every key of a key prefix: the prefix to list to see what a domain or an application
 * stores. Throws `InvalidOptionError` for names a cache would refuse.
 *
 * @example
 * backend.keys(namespaceOf({ keyPrefix: 'app', domainKey: 'SHOP' })) // every key of SHOP under 'app'
 */
export function namespaceOf(where: { keyPrefix?: string; domainKey?: string }): string {
  const { keyPrefix = '', domainKey } = where
  const namespace = new KeyLayout(keyPrefix, domainKey ?? '-', '1').namespace
  return domainKey === undefined ? namespace.slice(0, namespace.lastIndexOf('|') + 1) : namespace
}

/**
 * The three generations a stored result is valid under, in the order of its stamp
 * (`{domain}.{function}.{result}`): the result is live while its stamp holds their current tokens, dead
 * once an invalidation replaced one (or one is gone). `undefined` for a key that is not a result.
 *
 * @example
 * const [domain, fn, result] = generationKeysOf('app|SHOP:r:{GET_PRICE:1:"A-1"}')!
 */
export function generationKeysOf(key: string): readonly [string, string, string] | undefined {
  const described = describeKey(key)
  if (described?.kind !== 'result') return undefined
  const { keyPrefix, domain, functionKey, version, argumentKey } = described
  const layout = new KeyLayout(keyPrefix, domain, version!)
  return [
    layout.domainGeneration,
    layout.functionNamespace(functionKey!) + functionGenerationSuffix,
    layout.resultGenerationNamespace(functionKey!) + closeGroup(argumentKey!),
  ]
}
