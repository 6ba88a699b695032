import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeArguments, UnkeyableArgumentError } from '../src/index.js'
import { cacheKey } from '../src/keys/cache-key.js'

/** Keyable values of every kind the encoder distinguishes. */
const keyable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 4 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
    fc
      .array(fc.tuple(fc.oneof(fc.string(), fc.integer()), tie('value')), { maxLength: 3 })
      .map((e) => new Map(e)),
    fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }).map((e) => new Set(e)),
  ),
})).value

/**
 * The equivalence the encoder must implement exactly: same types, NaN equals NaN, -0 differs from 0,
 * object key order and Map/Set order do not matter, undefined-valued properties count as absent, and a
 * null-prototype object is a plain object.
 */
function equivalent(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false
  if (typeof a === 'number') return Object.is(a, b)
  if (typeof a !== 'object' || a === null || b === null) return a === b
  const x = a as object
  const y = b as object
  // A null-prototype object is a plain dictionary, keyed like `{}`.
  const proto = (o: object) => Object.getPrototypeOf(o) ?? Object.prototype
  if (proto(x) !== proto(y)) return false
  if (x instanceof Date) return x.getTime() === (y as Date).getTime()
  if (x instanceof Uint8Array) return Buffer.from(x).equals(Buffer.from(y as Uint8Array))
  if (Array.isArray(x)) {
    const ys = y as unknown[]
    return x.length === ys.length && x.every((v, i) => equivalent(v, ys[i]))
  }
  if (x instanceof Set) {
    const ys = y as Set<unknown>
    return x.size === ys.size && [...x].every((v) => [...ys].some((w) => equivalent(v, w)))
  }
  if (x instanceof Map) {
    const ys = y as Map<unknown, unknown>
    if (x.size !== ys.size) return false
    return [...x].every(([k, v]) => [...ys].some(([k2, v2]) => equivalent(k, k2) && equivalent(v, v2)))
  }
  const defined = (o: object) =>
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .sort(([p], [q]) => (p < q ? -1 : 1))
  const xe = defined(x)
  const ye = defined(y)
  return xe.length === ye.length && xe.every(([k, v], i) => k === ye[i]![0] && equivalent(v, ye[i]![1]))
}

/** Rebuilds a value with object keys, Map entries and Set members in reverse order. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered)
  if (value instanceof Map) return new Map([...value].reverse().map(([k, v]) => [k, reordered(v)]))
  if (value instanceof Set) return new Set([...value].reverse())
  if (value instanceof Date || value instanceof Uint8Array || value === null || typeof value !== 'object')
    return value
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reordered(v)]),
  )
}

describe('encodeArguments', () => {
  it('is collision-free: equal encodings only for equivalent argument lists', () => {
    fc.assert(
      fc.property(fc.array(keyable, { maxLength: 3 }), fc.array(keyable, { maxLength: 3 }), (a, b) => {
        const trim = (args: unknown[]) => {
          const out = [...args]
          while (out.length && out[out.length - 1] === undefined) out.pop()
          return out
        }
        if (encodeArguments(a) === encodeArguments(b)) expect(equivalent(trim(a), trim(b))).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('is insensitive to object key order and Map/Set insertion order', () => {
    fc.assert(
      fc.property(fc.array(keyable, { maxLength: 3 }), (args) => {
        expect(encodeArguments(args.map(reordered))).toBe(encodeArguments(args))
      }),
      { numRuns: 2000 },
    )
  })

  it('tells apart the cases users trip on', () => {
    const distinct: unknown[][] = [
      [1],
      ['1'],
      [1n],
      [true],
      ['true'],
      [null],
      [undefined, 1],
      [null, 1],
      [Number.NaN],
      ['NaN'],
      [0],
      [-0],
      [new Date(0)],
      [new Date(0).toISOString()],
      [0, 'x'],
      [new Map([['a', 1]])],
      [{ a: 1 }],
      [new Set(['a'])],
      [['a']],
      [new Uint8Array([1])],
      [new Int8Array([1])],
      [[1, 2]],
      [1, 2],
      ['a,b'],
      ['a', 'b'],
      [{ 'a,b': 1 }],
      [{ a: { b: 1 } }],
      [{ 'a.b': 1 }],
      ['s1'],
      ['"x"'],
      ['x'],
      [],
    ]
    const keys = distinct.map((args) => encodeArguments(args))
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('treats trailing undefined as missing and undefined properties as absent', () => {
    expect(encodeArguments([1, undefined])).toBe(encodeArguments([1]))
    expect(encodeArguments([1, undefined, undefined])).toBe(encodeArguments([1]))
    expect(encodeArguments([undefined, 1])).not.toBe(encodeArguments([1]))
    expect(encodeArguments([{ a: 1, b: undefined }])).toBe(encodeArguments([{ a: 1 }]))
  })

  it('keys class instances by class and data, never by identity', () => {
    // A class states its data through `[cacheKey]()`: its own properties alone could miss `#private`
    // state, so an instance without it is refused (see keys-state.test.ts).
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      [cacheKey]() {
        return { x: this.x, y: this.y }
      }
    }
    class Other {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      [cacheKey]() {
        return { x: this.x, y: this.y }
      }
    }
    expect(encodeArguments([new Point(1, 2)])).toBe(encodeArguments([new Point(1, 2)]))
    expect(encodeArguments([new Point(1, 2)])).not.toBe(encodeArguments([new Point(2, 1)]))
    expect(encodeArguments([new Point(1, 2)])).not.toBe(encodeArguments([{ x: 1, y: 2 }]))
    expect(encodeArguments([new Point(1, 2)])).not.toBe(encodeArguments([new Other(1, 2)]))
  })

  it('refuses unkeyable arguments with an error naming the path', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const cases: [unknown[], string][] = [
      [[1, () => 1], 'args[1]'],
      [[{ user: { callback: () => 1 } }], 'args[0].user.callback'],
      [[Symbol('s')], 'args[0]'],
      [[[1, [2, Symbol('deep')]]], 'args[0][1][1]'],
      [[cyclic], 'args[0].self'],
      [[Promise.resolve(1)], 'args[0]'],
      [[new WeakMap()], 'args[0]'],
    ]
    for (const [args, path] of cases) {
      let thrown: unknown
      try {
        encodeArguments(args)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(UnkeyableArgumentError)
      expect((thrown as UnkeyableArgumentError).path).toBe(path)
      expect((thrown as UnkeyableArgumentError).code).toBe('E_UNKEYABLE_ARGUMENT')
    }
  })

  it('accepts shared references that are not cycles', () => {
    const shared = { n: 1 }
    expect(() => encodeArguments([{ a: shared, b: shared }, [shared, shared]])).not.toThrow()
  })
})
