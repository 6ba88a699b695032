import { InvalidOptionError } from '../errors.js'
import { checkOptions } from '../options.js'

/**
 * How one query-string option of a backend URL is read. Query values are text; each kind turns the text
 * into what the backend's constructor takes, which then validates it as it would any option.
 *
 * - `integer`: a whole decimal number (`maxEntries=1000`);
 * - `number`: any finite decimal number;
 * - `boolean`: `true`/`false` (also `1`/`0`);
 * - `duration`: seconds as a number (`timeout=2`) or a duration string (`timeout=500ms`), as `Ttl`;
 * - `duration-or-false`: a duration, or `false` to turn the feature off (`pruneInterval=false`);
 * - `string`: the text as it is;
 * - a list of strings: one of them (`onCorrupt=rebuild`).
 */
export type UrlOptionKind =
  | 'integer'
  | 'number'
  | 'boolean'
  | 'duration'
  | 'duration-or-false'
  | 'string'
  | readonly string[]

/** The options a backend accepts in its URL's query string, by name. */
export type UrlOptionSpec = Readonly<Record<string, UrlOptionKind>>

/**
 * Reads the query string of a backend URL into constructor options, refusing what a constructor would
 * refuse: an unknown name (with a "did you mean" for a typo), a name given twice, a value of the wrong kind.
 * Every refusal is an {@link InvalidOptionError} naming the option; the URL itself is never quoted (it may
 * hold a password).
 *
 * @example
 * // In a backend's static fromUrl:
 * const options = readUrlOptions(new URL('mem://?maxEntries=1000'), { maxEntries: 'integer', maxBytes: 'integer' }, 'mem://')
 * // → { maxEntries: 1000 }
 */
export function readUrlOptions(
  url: URL | URLSearchParams,
  spec: UrlOptionSpec,
  where: string,
): Record<string, unknown> {
  const params = url instanceof URL ? url.searchParams : url
  const names = [...params.keys()]
  checkOptions(Object.fromEntries(names.map((name) => [name, true])), Object.keys(spec), where)
  const options: Record<string, unknown> = {}
  for (const name of new Set(names)) {
    const values = params.getAll(name)
    if (values.length > 1)
      throw new InvalidOptionError(`${where}: option "${name}" is given ${values.length} times`)
    options[name] = readValue(values[0]!, spec[name]!, `${where}: option "${name}"`)
  }
  return options
}

const INTEGER = /^-?\d+$/
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i
const DURATION = /^\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)$/

function readValue(text: string, kind: UrlOptionKind, what: string): unknown {
  if (typeof kind !== 'string') {
    if (kind.includes(text)) return text
    throw new InvalidOptionError(`${what} must be one of ${kind.join(', ')}, got ${JSON.stringify(text)}`)
  }
  switch (kind) {
    case 'string':
      return text
    case 'integer':
      if (!INTEGER.test(text)) {
        throw new InvalidOptionError(`${what} must be a whole number, got ${JSON.stringify(text)}`)
      }
      // Beyond 2^53 a number would be silently rounded: refused instead.
      if (!Number.isSafeInteger(Number(text))) {
        throw new InvalidOptionError(`${what} must be at most ${Number.MAX_SAFE_INTEGER}, got ${text}`)
      }
      return Number(text)
    case 'number':
      if (NUMBER.test(text)) return Number(text)
      throw new InvalidOptionError(`${what} must be a number, got ${JSON.stringify(text)}`)
    case 'boolean':
      if (text === 'true' || text === '1') return true
      if (text === 'false' || text === '0') return false
      throw new InvalidOptionError(`${what} must be true or false, got ${JSON.stringify(text)}`)
    case 'duration-or-false':
      if (text === 'false') return false
      return readDuration(text, what, ' or false')
    case 'duration':
      return readDuration(text, what, '')
  }
}

function readDuration(text: string, what: string, orElse: string): unknown {
  if (NUMBER.test(text)) return Number(text)
  if (DURATION.test(text)) return text
  throw new InvalidOptionError(
    `${what} must be seconds or a duration such as 500ms, 30s, 5m${orElse}, got ${JSON.stringify(text)}`,
  )
}
