import { UnkeyableArgumentError } from '../errors.js'

/**
 * Canonical, type-tagged encoding of call arguments. Two argument lists get the same encoding exactly
 * when they are the same call:
 * - trailing `undefined` arguments are dropped, so `f(1)` and `f(1, undefined)` are one call;
 * - every value carries its type: `1` (`n1`) never meets `'1'` (`"1"`), `null` (`z`) never meets
 *   `undefined` (`u`), a `Date` (`D…`) never meets its ISO string, a `Map` never meets a plain object;
 * - object keys are sorted, and so are `Map` entries and `Set` members: insertion order is not identity;
 * - properties whose value is `undefined` are left out, as in JSON (an optional property that is absent
 *   and one set to `undefined` are the same argument); a null-prototype object is a plain object;
 * - functions, symbols, promises, weak collections and cycles cannot be keyed and throw
 *   {@link UnkeyableArgumentError} naming the argument path.
 *
 * The grammar nests and every composite is delimited, so distinct inputs cannot concatenate into the
 * same string.
 */
export function encodeArguments(args: readonly unknown[]): string {
  let length = args.length
  while (length > 0 && args[length - 1] === undefined) length--
  if (length === 1) return encodeValue(args[0], 'args[0]')
  if (length === 0) return '()'
  let out = '('
  for (let i = 0; i < length; i++) {
    if (i > 0) out += ','
    out += encodeNested(args[i], `args[${i}]`, undefined)
  }
  return `${out})`
}

/** Encodes a single value (the result of a custom key function, or a lone argument). */
export function encodeValue(value: unknown, path: string): string {
  // The hot path of every cached call: a lone primitive needs no delimiters, because nothing follows it.
  switch (typeof value) {
    case 'string':
      // A lone surrogate has no UTF-8 form: such a string takes its escaped, quoted form instead.
      return value.isWellFormed() ? `s${value}` : JSON.stringify(value)
    case 'number':
      return encodeNumber(value)
    default:
      return encodeNested(value, path, undefined)
  }
}

/**
 * Encodes a value in its self-delimiting form (strings quoted), so that something may follow it
 * unambiguously.
 */
export function encodeDelimited(value: unknown, path: string): string {
  return encodeNested(value, path, undefined)
}

function encodeNumber(value: number): string {
  return value === 0 && 1 / value < 0 ? 'n-0' : `n${value}`
}

function encodeNested(value: unknown, path: string, ancestors: Set<object> | undefined): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return encodeNumber(value)
    case 'boolean':
      return value ? 't' : 'f'
    case 'undefined':
      return 'u'
    case 'bigint':
      return `b${value}`
    case 'object':
      return value === null ? 'z' : encodeObject(value, path, ancestors)
    case 'function':
      throw new UnkeyableArgumentError(path, 'is a function; pass a custom `key` or exclude the argument')
    case 'symbol':
      throw new UnkeyableArgumentError(path, 'is a symbol; symbols have no stable identity across processes')
    default:
      throw new UnkeyableArgumentError(path, `has unsupported type ${typeof value}`)
  }
}

function encodeObject(value: object, path: string, ancestors: Set<object> | undefined): string {
  if (value instanceof Date) return `D${value.getTime()}`
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return `T${value.constructor.name}(${bytes.toString('base64')})`
  }
  if (value instanceof ArrayBuffer) return `A(${Buffer.from(value).toString('base64')})`
  if (value instanceof RegExp) return `R${JSON.stringify(value.toString())}`
  if (value instanceof URL) return `U${JSON.stringify(value.href)}`
  if (isUnkeyableObject(value)) {
    throw new UnkeyableArgumentError(path, `is a ${value.constructor.name}, which has no content to key on`)
  }

  const seen = ancestors ?? new Set<object>()
  if (seen.has(value))
    throw new UnkeyableArgumentError(path, 'contains a cycle (an object that contains itself)')
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      let out = '['
      for (let i = 0; i < value.length; i++) {
        if (i > 0) out += ','
        out += encodeNested(value[i], `${path}[${i}]`, seen)
      }
      return `${out}]`
    }
    if (value instanceof Map) {
      const entries: string[] = []
      for (const [k, v] of value) {
        const keyPath = `${path}.<map key>`
        entries.push(
          `${encodeNested(k, keyPath, seen)}:${encodeNested(v, `${path}.get(${describe(k)})`, seen)}`,
        )
      }
      return `M{${entries.sort().join(',')}}`
    }
    if (value instanceof Set) {
      const members: string[] = []
      for (const member of value) members.push(encodeNested(member, `${path}.<set member>`, seen))
      return `S[${members.sort().join(',')}]`
    }
    if (value instanceof Error) {
      return `E${JSON.stringify(value.name)}${JSON.stringify(value.message)}${encodeProperties(value, path, seen)}`
    }
    const proto = Object.getPrototypeOf(value)
    const body = encodeProperties(value, path, seen)
    if (proto === Object.prototype || proto === null) return body
    // A class instance is keyed by its class name and its own data, never by identity.
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? '?'
    return `C${JSON.stringify(name)}${body}`
  } finally {
    seen.delete(value)
  }
}

function encodeProperties(value: object, path: string, seen: Set<object>): string {
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const property = record[key]
    if (property === undefined) continue
    if (!first) out += ','
    first = false
    out += `${JSON.stringify(key)}:${encodeNested(property, `${path}.${key}`, seen)}`
  }
  return `${out}}`
}

function isUnkeyableObject(value: object): boolean {
  return (
    value instanceof Promise ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof WeakRef ||
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function describe(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key)
}
