import * as util from 'node:util'
import { deserialize, serialize } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { jsonSerializer, SerializationError, type Serializer, v8Serializer } from '../src/index.js'

class Owner {
  constructor(readonly name: string) {}
  greet(): string {
    return `hi ${this.name}`
  }
}
class AppError extends Error {}
class Users extends Map<string, unknown> {}
class List extends Array<number> {}
class Bytes extends Uint8Array {}
class Money {
  constructor(readonly cents: number) {}
  toJSON(): string {
    return `${this.cents / 100} EUR`
  }
}

type Loose = Record<PropertyKey, unknown>

/** What the raw format alone gives back for `value`, or `'throws'`. */
function rawV8(value: unknown): unknown {
  try {
    return deserialize(serialize(value))
  } catch {
    return 'throws'
  }
}

function rawJson(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value) ?? 'null')
  } catch {
    return 'throws'
  }
}

/** The SerializationError `serializer.encode(value)` throws (the test fails if it does not throw one). */
function refusal(serializer: Serializer, value: unknown): SerializationError {
  try {
    serializer.encode(value)
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError)
    expect((error as SerializationError).code).toBe('E_SERIALIZATION')
    return error as SerializationError
  }
  throw new Error('expected a SerializationError, but the value was encoded')
}

interface Case {
  name: string
  value: () => unknown
  /** Where the message says the offending spot is. */
  path: string
  /** Shows that the raw format would have given the value back changed (so refusing is warranted). */
  changedByFormat: (back: unknown) => boolean
}

const symbol = Symbol('s')

const v8Refused: Case[] = [
  {
    name: 'a class instance, deep inside',
    value: () => ({ items: [0, 1, 2, { owner: new Owner('Ada') }] }),
    path: 'value.items[3].owner',
    changedByFormat: (back) => !((back as { items: { owner: unknown }[] }).items[3]!.owner instanceof Owner),
  },
  {
    name: 'a custom error class',
    value: () => new AppError('x'),
    path: 'value',
    changedByFormat: (back) => !(back instanceof AppError),
  },
  {
    name: 'an AggregateError',
    value: () => new AggregateError([new Error('a')], 'x'),
    path: 'value',
    changedByFormat: (back) => !(back instanceof AggregateError),
  },
  {
    name: 'an error with a code',
    value: () => Object.assign(new Error('x'), { code: 'E_X' }),
    path: 'value.code',
    changedByFormat: (back) => (back as Loose).code !== 'E_X',
  },
  {
    name: 'an error with its own name',
    value: () => Object.assign(new Error('x'), { name: 'CustomError' }),
    path: 'value.name',
    changedByFormat: (back) => (back as Error).name !== 'CustomError',
  },
  {
    name: 'a class instance as an error cause',
    value: () => new Error('x', { cause: new Owner('a') }),
    path: 'value.cause',
    changedByFormat: (back) => !((back as Error).cause instanceof Owner),
  },
  {
    name: 'a Map subclass',
    value: () => new Users(),
    path: 'value',
    changedByFormat: (back) => !(back instanceof Users),
  },
  {
    name: 'an Array subclass',
    value: () => List.from([1, 2]),
    path: 'value',
    changedByFormat: (back) => !(back instanceof List),
  },
  {
    name: 'a Uint8Array subclass',
    value: () => new Bytes(2),
    path: 'value',
    changedByFormat: (back) => !(back instanceof Bytes),
  },
  {
    name: 'a property added to a Map',
    value: () => Object.assign(new Map([[1, 2]]), { extra: 1 }),
    path: 'value.extra',
    changedByFormat: (back) => (back as Loose).extra !== 1,
  },
  {
    name: 'a property added to a Date',
    value: () => ({ at: Object.assign(new Date(0), { zone: 'UTC' }) }),
    path: 'value.at.zone',
    changedByFormat: (back) => (back as { at: Loose }).at.zone !== 'UTC',
  },
  {
    name: 'a property added to a boxed string',
    value: () => Object.assign(new String('ab'), { extra: 1 }),
    path: 'value.extra',
    changedByFormat: (back) => (back as Loose).extra !== 1,
  },
  {
    name: 'a RegExp with a lastIndex',
    value: () => Object.assign(/a/g, { lastIndex: 3 }),
    path: 'value.lastIndex',
    changedByFormat: (back) => (back as RegExp).lastIndex !== 3,
  },
  {
    name: 'a symbol-keyed property',
    value: () => ({ a: 1, [symbol]: 2 }),
    path: 'value[Symbol(s)]',
    changedByFormat: (back) => (back as Loose)[symbol] !== 2,
  },
  {
    name: 'a symbol-keyed property of an array',
    value: () => ({ list: Object.assign([1], { [symbol]: 2 }) }),
    path: 'value.list[Symbol(s)]',
    changedByFormat: (back) => (back as { list: Loose }).list[symbol] !== 2,
  },
  {
    name: 'a non-enumerable property',
    value: () => Object.defineProperty({ a: 1 }, 'hidden', { value: 2 }),
    path: 'value.hidden',
    changedByFormat: (back) => (back as Loose).hidden !== 2,
  },
  {
    name: 'an accessor',
    value: () => ({
      a: 1,
      get total() {
        return 3
      },
    }),
    path: 'value.total',
    changedByFormat: (back) => Object.getOwnPropertyDescriptor(back, 'total')?.get === undefined,
  },
  {
    name: 'a class instance as a Map key',
    value: () => new Map([[new Owner('a'), 1]]),
    path: 'value.<entry 0>.key',
    changedByFormat: (back) => !([...(back as Map<unknown, unknown>).keys()][0] instanceof Owner),
  },
  {
    name: 'a class instance as a Map value',
    value: () => new Map([['k', new Owner('a')]]),
    path: 'value.get("k")',
    changedByFormat: (back) => !((back as Map<string, unknown>).get('k') instanceof Owner),
  },
  {
    name: 'a class instance in a Set',
    value: () => new Set([1, new Owner('a')]),
    path: 'value.<element 1>',
    changedByFormat: (back) => !([...(back as Set<unknown>)][1] instanceof Owner),
  },
  {
    name: 'a class instance on a named property of an array',
    value: () => Object.assign([1, 2], { owner: new Owner('a') }),
    path: 'value.owner',
    changedByFormat: (back) => !((back as Loose).owner instanceof Owner),
  },
  {
    name: 'a class instance far into a sparse array',
    value: () => {
      const sparse: unknown[] = []
      sparse[1_000_000] = new Owner('a')
      return sparse
    },
    path: 'value[1000000]',
    changedByFormat: (back) => !((back as unknown[])[1_000_000] instanceof Owner),
  },
  {
    name: 'a URL (a class instance of the platform)',
    value: () => ({ home: new URL('https://example.com/') }),
    path: 'value.home',
    changedByFormat: (back) => !((back as { home: unknown }).home instanceof URL),
  },
  {
    name: 'a view of a SharedArrayBuffer',
    value: () => new Uint8Array(new SharedArrayBuffer(4)),
    path: 'value',
    changedByFormat: (back) =>
      back === 'throws' || !((back as Uint8Array).buffer instanceof SharedArrayBuffer),
  },
  {
    name: 'a function',
    value: () => ({ callback: () => 1 }),
    path: 'value.callback',
    changedByFormat: (back) => back === 'throws',
  },
  {
    name: 'a symbol',
    value: () => [symbol],
    path: 'value[0]',
    changedByFormat: (back) => back === 'throws',
  },
  {
    name: 'a proxy',
    value: () => ({ p: new Proxy({ a: 1 }, {}) }),
    path: 'value.p',
    changedByFormat: (back) => back === 'throws',
  },
]

describe('v8Serializer refuses what it would give back changed', () => {
  it.each(v8Refused)('$name', ({ value, path, changedByFormat }) => {
    expect(changedByFormat(rawV8(value()))).toBe(true)
    const error = refusal(v8Serializer, value())
    expect(error.message).toContain(`cannot store ${path}:`)
  })

  it('says what to do about a class instance', () => {
    const error = refusal(v8Serializer, { items: [0, 1, 2, { owner: new Owner('Ada') }] })
    expect(error.message).toBe(
      'v8Serializer cannot store value.items[3].owner: it is an instance of Owner, which v8Serializer would give back as a plain object (its class and methods lost). Store plain data (for example the fields the caller needs), or use a serializer that knows the class',
    )
  })

  it('a value nested too deeply for the check is a SerializationError, not a stack overflow', () => {
    let deep: unknown = 1
    for (let i = 0; i < 200_000; i++) deep = { deep }
    expect(() => v8Serializer.encode(deep)).toThrow(SerializationError)
  })
})

describe('v8Serializer round-trips the built-ins exactly', () => {
  const exact = (value: unknown) => {
    const back = v8Serializer.decode(v8Serializer.encode(value))
    expect(back).toStrictEqual(value)
    return back
  }

  it('built-in errors keep their class, message, stack and cause', () => {
    for (const make of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      const error = new make('boom', { cause: { id: 1 } })
      const back = exact(error) as Error
      expect(Object.getPrototypeOf(back)).toBe(make.prototype)
      expect(back.message).toBe('boom')
      expect(back.stack).toBe(error.stack)
      expect(back.cause).toStrictEqual({ id: 1 })
    }
  })

  it('boxed primitives, buffers, views, regexps, dates, maps, sets', () => {
    for (const value of [
      new Number(3),
      new String('ab'),
      new Boolean(false),
      Object(1n),
      Buffer.from('hello'),
      new Uint8Array([1, 2]),
      new Float64Array([1.5, -0]),
      new BigInt64Array([1n]),
      new DataView(new ArrayBuffer(4)),
      new ArrayBuffer(8),
      /a.b/gimsu,
      new Date(0),
      new Map<unknown, unknown>([[{ k: 1 }, new Set([1])]]),
    ]) {
      const back = exact(value)
      expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value))
    }
  })

  it('arrays keep their holes and named properties; shared references and cycles are kept', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const holey = exact([1, , 3]) as unknown[]
    expect(1 in holey).toBe(false)
    const named = exact(Object.assign([1, 2], { total: 3 })) as unknown as { total: number }
    expect(named.total).toBe(3)
    const shared = { n: 1 }
    const both = v8Serializer.decode(v8Serializer.encode({ a: shared, b: shared })) as Record<string, unknown>
    expect(both.a).toBe(both.b)
    const cycle: Record<string, unknown> = { n: 1 }
    cycle.self = cycle
    const back = v8Serializer.decode(v8Serializer.encode(cycle)) as Record<string, unknown>
    expect(back.self).toBe(back)
  })

  it('a sparse array of length 3e7 is checked in bounded time', () => {
    const sparse: unknown[] = []
    sparse.length = 30_000_000
    sparse[5] = { a: 1 }
    sparse[29_999_999] = 'end'
    const started = performance.now()
    const back = v8Serializer.decode(v8Serializer.encode(sparse)) as unknown[]
    expect(back.length).toBe(30_000_000)
    expect(back[29_999_999]).toBe('end')
    // The format itself takes tens of milliseconds; the check must not add a pass over the length.
    expect(performance.now() - started).toBeLessThan(5000)
  })

  it('an object with a null prototype comes back with its data (and Object.prototype), as documented', () => {
    const value = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, __proto__x: 2 })
    const back = v8Serializer.decode(v8Serializer.encode(value)) as Record<string, unknown>
    expect({ ...back }).toStrictEqual({ ...value })
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
  })
})

const jsonRefused: Case[] = [
  {
    name: '-0',
    value: () => ({ a: [0, -0] }),
    path: 'value.a[1]',
    changedByFormat: (back) => !Object.is((back as { a: number[] }).a[1], -0),
  },
  {
    name: 'a toJSON method on a plain object',
    value: () => ({
      when: {
        at: 1,
        toJSON() {
          return 'later'
        },
      },
    }),
    path: 'value.when.toJSON',
    changedByFormat: (back) => (back as { when: unknown }).when === 'later',
  },
  {
    name: 'a class with toJSON',
    value: () => ({ price: new Money(150) }),
    path: 'value.price',
    changedByFormat: (back) => (back as { price: unknown }).price === '1.5 EUR',
  },
  {
    name: 'a symbol-keyed property',
    value: () => ({ a: 1, [symbol]: 2 }),
    path: 'value[Symbol(s)]',
    changedByFormat: (back) => (back as Loose)[symbol] !== 2,
  },
  {
    name: 'a hole',
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    value: () => [1, , 3],
    path: 'value[1]',
    changedByFormat: (back) => (back as unknown[])[1] === null,
  },
  {
    name: 'undefined in an array',
    value: () => ({ list: [undefined] }),
    path: 'value.list[0]',
    changedByFormat: (back) => (back as { list: unknown[] }).list[0] === null,
  },
  {
    name: 'undefined in an object',
    value: () => ({ a: undefined }),
    path: 'value.a',
    changedByFormat: (back) => !('a' in (back as object)),
  },
  {
    name: 'a named property of an array',
    value: () => Object.assign([1, 2], { total: 3 }),
    path: 'value.total',
    changedByFormat: (back) => (back as Loose).total !== 3,
  },
  {
    name: 'a class instance',
    value: () => ({ items: [0, 1, 2, { owner: new Owner('Ada') }] }),
    path: 'value.items[3].owner',
    changedByFormat: (back) => !((back as { items: { owner: unknown }[] }).items[3]!.owner instanceof Owner),
  },
  {
    name: 'a Date',
    value: () => ({ at: new Date(0) }),
    path: 'value.at',
    changedByFormat: (back) => typeof (back as { at: unknown }).at === 'string',
  },
  {
    name: 'a Map',
    value: () => new Map([[1, 2]]),
    path: 'value',
    changedByFormat: (back) => !(back instanceof Map),
  },
  {
    name: 'a boxed number',
    value: () => ({ n: new Number(3) }),
    path: 'value.n',
    changedByFormat: (back) => typeof (back as { n: unknown }).n === 'number',
  },
  {
    name: 'a Uint8Array',
    value: () => new Uint8Array([1]),
    path: 'value',
    changedByFormat: (back) => !(back instanceof Uint8Array),
  },
  {
    name: 'an Error',
    value: () => new Error('x'),
    path: 'value',
    changedByFormat: (back) => !(back instanceof Error),
  },
  {
    name: 'a BigInt',
    value: () => ({ big: 1n }),
    path: 'value.big',
    changedByFormat: (back) => back === 'throws',
  },
  {
    name: 'NaN',
    value: () => [Number.NaN],
    path: 'value[0]',
    changedByFormat: (back) => (back as unknown[])[0] === null,
  },
  {
    name: 'Infinity',
    value: () => ({ x: Number.POSITIVE_INFINITY }),
    path: 'value.x',
    changedByFormat: (back) => (back as Loose).x === null,
  },
  {
    name: 'a non-enumerable property',
    value: () => Object.defineProperty({ a: 1 }, 'hidden', { value: 2 }),
    path: 'value.hidden',
    changedByFormat: (back) => (back as Loose).hidden !== 2,
  },
  {
    name: 'an accessor',
    value: () => ({
      get total() {
        return 3
      },
    }),
    path: 'value.total',
    changedByFormat: (back) => Object.getOwnPropertyDescriptor(back, 'total')?.get === undefined,
  },
  {
    name: 'a proxy',
    value: () => ({ p: new Proxy({ a: 1 }, {}) }),
    path: 'value.p',
    changedByFormat: (back) => util.types.isProxy((back as Loose).p) === false,
  },
  {
    name: 'a cycle',
    value: () => {
      const node: Record<string, unknown> = { n: 1 }
      node.next = { n: 2, back: node }
      return node
    },
    path: 'value.next.back',
    changedByFormat: (back) => back === 'throws',
  },
  {
    name: 'undefined',
    value: () => undefined,
    path: 'value',
    changedByFormat: (back) => back !== undefined,
  },
]

describe('jsonSerializer refuses what JSON would give back changed', () => {
  it.each(jsonRefused)('$name', ({ value, path, changedByFormat }) => {
    expect(changedByFormat(rawJson(value()))).toBe(true)
    const error = refusal(jsonSerializer, value())
    expect(error.message).toContain(`cannot store ${path}:`)
  })

  it('a value nested too deeply is a SerializationError, not a stack overflow', () => {
    let deep: unknown = 1
    for (let i = 0; i < 200_000; i++) deep = [deep]
    expect(() => jsonSerializer.encode(deep)).toThrow(SerializationError)
  })

  it('shared references come back as equal copies, as documented', () => {
    const shared = { n: 1 }
    const back = jsonSerializer.decode(jsonSerializer.encode({ a: shared, b: shared })) as Record<
      string,
      unknown
    >
    expect(back).toStrictEqual({ a: { n: 1 }, b: { n: 1 } })
  })

  it('a DAG with many shared references is checked once per object (no exponential walk)', () => {
    let node: unknown = { leaf: true }
    for (let i = 0; i < 40; i++) node = { left: node, right: node }
    // JSON.stringify would expand this to 2^40 leaves; the check itself must finish at once, so the
    // failure is the format's (too large), not a hang in the check.
    const started = performance.now()
    expect(() => jsonSerializer.encode({ tree: node, bad: -0 })).toThrow(/value\.bad:/)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('an own __proto__ key round-trips as data and pollutes nothing', () => {
    const value = JSON.parse('{"__proto__":{"polluted":1},"a":1}') as Record<string, unknown>
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    const back = jsonSerializer.decode(jsonSerializer.encode(value)) as Record<string, unknown>
    expect(Object.getOwnPropertyNames(back)).toEqual(['__proto__', 'a'])
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(back.polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
