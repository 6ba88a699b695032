import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cacheKey } from '../src/keys/cache-key.js'
import { encodeArguments } from '../src/keys/encode-arguments.js'

/** A user class keyed through `[cacheKey]`, with state a key could not see otherwise. */
class Tagged {
  readonly #id: unknown
  constructor(id: unknown) {
    this.#id = id
  }
  get id(): unknown {
    return this.#id
  }
  [cacheKey](): unknown {
    return this.#id
  }
}
/** Another class whose `[cacheKey]()` returns the same values: its instances must never meet Tagged's. */
class OtherTagged extends Tagged {}

const typedArrayTypes = [Uint8Array, Int8Array, Uint16Array, Float64Array, BigInt64Array] as const

/** Keyable values of every kind the encoder distinguishes. */
const { value: keyable } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.string({ maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 4 }),
    fc.double(),
    fc.integer({ min: -3, max: 3 }),
    fc.bigInt({ min: -3n, max: 3n }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.oneof(
      fc.date(),
      fc.integer({ min: -2, max: 2 }).map((t) => new Date(t)),
    ),
    fc.tuple(fc.nat(typedArrayTypes.length - 1), fc.uint8Array({ maxLength: 16 })).map(([t, bytes]) => {
      const Type = typedArrayTypes[t] as (typeof typedArrayTypes)[number]
      const whole = bytes.byteLength - (bytes.byteLength % Type.BYTES_PER_ELEMENT)
      return new Type(bytes.buffer.slice(0, whole))
    }),
    fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes)),
    fc.oneof(
      fc.double().map((n) => new Number(n)),
      fc.string({ maxLength: 3 }).map((s) => new String(s)),
      fc.boolean().map((b) => new Boolean(b)),
      fc.bigInt({ min: -2n, max: 2n }).map((b) => Object(b) as object),
    ),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.sparseArray(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3, noNullPrototype: false }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 3 }).map((e) => new Set(e)),
    fc
      .tuple(
        fc.constantFrom(Error, TypeError, RangeError),
        fc.string({ maxLength: 3 }),
        fc.option(tie('value')),
      )
      .map(([Type, message, cause]) => (cause === null ? new Type(message) : new Type(message, { cause }))),
    fc.constantFrom('https://a.example/', 'https://a.example/x', 'https://b.example/').map((u) => new URL(u)),
    fc
      .array(fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('1', '2')), { maxLength: 3 })
      .map((e) => new URLSearchParams(e)),
    fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('', 'g'), fc.nat(1)).map(([source, flags, at]) => {
      const regExp = new RegExp(source, flags)
      regExp.lastIndex = at
      return regExp
    }),
    tie('value').map((id) => new Tagged(id)),
    tie('value').map((id) => new OtherTagged(id)),
  ),
})) as { value: fc.Arbitrary<unknown> }

/** Pairs an element-wise equivalence over two lists, each element used once (multisets). */
function sameMultiset<T>(xs: T[], ys: T[], same: (x: T, y: T) => boolean): boolean {
  if (xs.length !== ys.length) return false
  const left = [...ys]
  for (const x of xs) {
    const at = left.findIndex((y) => same(x, y))
    if (at < 0) return false
    left.splice(at, 1)
  }
  return true
}

const plainProto = (o: object) => Object.getPrototypeOf(o) ?? Object.prototype

/**
 * The reference: two values are the same argument when their observable state is equal. Same types;
 * NaN equals NaN and -0 differs from 0; object key order and Map/Set order do not matter (Map entries and
 * Set members are multisets of equivalent values); undefined-valued properties of plain objects count as
 * absent; a null-prototype object is a plain object; holes differ from `undefined`; a view is its type and
 * bytes; boxes are their type and value; errors are their type and own properties but `stack`.
 */
function equivalent(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false
  if (typeof a === 'number') return Object.is(a, b)
  if (typeof a !== 'object' || a === null || b === null) return a === b
  const x = a as object
  const y = b as object
  if (plainProto(x) !== plainProto(y)) return false
  if (x instanceof Tagged) return equivalent(x.id, (y as Tagged).id)
  if (x instanceof Date) return Object.is(x.getTime(), (y as Date).getTime())
  if (ArrayBuffer.isView(x)) {
    const yv = y as ArrayBufferView
    return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
      Buffer.from(yv.buffer, yv.byteOffset, yv.byteLength),
    )
  }
  if (x instanceof Number || x instanceof String || x instanceof Boolean || x instanceof BigInt) {
    return Object.is(x.valueOf(), (y as { valueOf(): unknown }).valueOf())
  }
  if (x instanceof URL) return x.href === (y as URL).href
  if (x instanceof URLSearchParams)
    return JSON.stringify([...x]) === JSON.stringify([...(y as URLSearchParams)])
  if (x instanceof RegExp) {
    const yr = y as RegExp
    return x.source === yr.source && x.flags === yr.flags && x.lastIndex === yr.lastIndex
  }
  if (Array.isArray(x)) {
    const ys = y as unknown[]
    if (x.length !== ys.length) return false
    for (let i = 0; i < x.length; i++) {
      if (i in x !== i in ys) return false
      if (i in x && !equivalent(x[i], ys[i])) return false
    }
    return true
  }
  if (x instanceof Set) return sameMultiset([...x], [...(y as Set<unknown>)], equivalent)
  if (x instanceof Map) {
    return sameMultiset(
      [...x],
      [...(y as Map<unknown, unknown>)],
      ([k, v], [k2, v2]) => equivalent(k, k2) && equivalent(v, v2),
    )
  }
  if (x instanceof Error) {
    const own = (e: object) =>
      Object.getOwnPropertyNames(e)
        .filter((name) => name !== 'stack')
        .sort()
    const xe = own(x)
    const ye = own(y)
    const read = (e: object, k: string) => (e as Record<string, unknown>)[k]
    return xe.length === ye.length && xe.every((k, i) => k === ye[i] && equivalent(read(x, k), read(y, k)))
  }
  const defined = (o: object) =>
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .sort(([p], [q]) => (p < q ? -1 : 1))
  const xe = defined(x)
  const ye = defined(y)
  return xe.length === ye.length && xe.every(([k, v], i) => k === ye[i]?.[0] && equivalent(v, ye[i]?.[1]))
}

/**
 * A deep copy made of fresh objects, with object keys, Map entries and Set members inserted in reverse
 * order: the same argument, built differently.
 */
function rebuilt(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof OtherTagged) return new OtherTagged(rebuilt(value.id))
  if (value instanceof Tagged) return new Tagged(rebuilt(value.id))
  if (value instanceof Date) return new Date(value.getTime())
  if (Buffer.isBuffer(value)) return Buffer.from(value)
  if (ArrayBuffer.isView(value)) return (value as Uint8Array).slice()
  if (value instanceof Number) return new Number(value.valueOf())
  if (value instanceof String) return new String(value.valueOf())
  if (value instanceof Boolean) return new Boolean(value.valueOf())
  if (value instanceof BigInt) return Object(value.valueOf()) as object
  if (value instanceof URL) return new URL(value.href)
  if (value instanceof URLSearchParams) return new URLSearchParams([...value])
  if (value instanceof RegExp) {
    const copy = new RegExp(value.source, value.flags)
    copy.lastIndex = value.lastIndex
    return copy
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = []
    copy.length = value.length
    for (let i = value.length - 1; i >= 0; i--) if (i in value) copy[i] = rebuilt(value[i])
    return copy
  }
  if (value instanceof Set) return new Set([...value].reverse().map(rebuilt))
  if (value instanceof Map) return new Map([...value].reverse().map(([k, v]) => [rebuilt(k), rebuilt(v)]))
  if (value instanceof Error) {
    const Type = value.constructor as ErrorConstructor
    const copy =
      'cause' in value ? new Type(value.message, { cause: rebuilt(value.cause) }) : new Type(value.message)
    return copy
  }
  const copy = Object.create(Object.getPrototypeOf(value)) as object
  for (const [k, v] of Object.entries(value).reverse()) {
    Object.defineProperty(copy, k, {
      value: rebuilt(v),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return copy
}

const trimmed = (args: readonly unknown[]) => {
  const out = [...args]
  while (out.length > 0 && out[out.length - 1] === undefined) out.pop()
  return out
}

const argumentLists = fc.array(keyable, { maxLength: 3 })

describe('key derivation (property-based)', () => {
  it('gives equal keys exactly to argument lists of equal observable state', () => {
    // Half of the pairs are rebuilt copies (equal), half are independent (mostly different, sometimes equal).
    const pairs = fc.oneof(
      fc.tuple(argumentLists, argumentLists),
      argumentLists.map((args) => [args, args.map(rebuilt)] as const),
      fc
        .tuple(argumentLists, fc.constantFrom(undefined, null))
        .map(([args, tail]) => [args, [...args, tail]] as const),
    )
    fc.assert(
      fc.property(pairs, ([a, b]) => {
        const sameKey = encodeArguments(a) === encodeArguments(b)
        expect(sameKey).toBe(equivalent(trimmed(a), trimmed(b)))
      }),
      { numRuns: 3000 },
    )
  })

  it('is a function of the arguments: the same input twice gives the same key', () => {
    fc.assert(
      fc.property(argumentLists, (args) => {
        expect(encodeArguments(args)).toBe(encodeArguments(args))
      }),
      { numRuns: 1000 },
    )
  })

  it('is insensitive to object key order and Map/Set insertion order', () => {
    fc.assert(
      fc.property(argumentLists, (args) => {
        expect(encodeArguments(args.map(rebuilt))).toBe(encodeArguments(args))
      }),
      { numRuns: 2000 },
    )
  })

  it('never lets two kinds of container or class meet on the same content', () => {
    fc.assert(
      fc.property(keyable, (v) => {
        const wrapped = [
          v,
          [v],
          { v },
          new Set([v]),
          new Map([[v, v]]),
          new Tagged(v),
          new OtherTagged(v),
          new Tagged([v]),
          new Error('', { cause: v }),
          new TypeError('', { cause: v }),
        ]
        const keys = wrapped.map((w) => encodeArguments([w]))
        expect(new Set(keys).size).toBe(keys.length)
      }),
      { numRuns: 1000 },
    )
  })

  it('keeps typed arrays of different types apart, even with the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes) => {
        const views = [
          ...typedArrayTypes.map((Type) => new Type(bytes.buffer.slice(0))),
          Buffer.from(bytes),
          new DataView(bytes.buffer.slice(0)),
          bytes.buffer.slice(0),
        ]
        const keys = views.map((view) => encodeArguments([view]))
        expect(new Set(keys).size).toBe(keys.length)
      }),
      { numRuns: 200 },
    )
  })
})
