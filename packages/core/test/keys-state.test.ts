import { describe, expect, it } from 'vitest'
import { UnkeyableArgumentError } from '../src/errors.js'
import { cacheKey } from '../src/keys/cache-key.js'
import { encodeArguments, MAX_KEY_DEPTH, MAX_KEY_SLOTS } from '../src/keys/encode-arguments.js'

/** The error `encodeArguments(args)` throws; fails the test if it does not throw one. */
function refusal(args: unknown[]): UnkeyableArgumentError {
  try {
    encodeArguments(args)
  } catch (error) {
    expect(error).toBeInstanceOf(UnkeyableArgumentError)
    expect((error as UnkeyableArgumentError).code).toBe('E_UNKEYABLE_ARGUMENT')
    return error as UnkeyableArgumentError
  }
  throw new Error(`expected ${String(args)} to be refused`)
}

/** Two arguments that used to share a key: they must now differ, or the first must be refused at `path`. */
function expectDistinctOrRefused(a: unknown, b: unknown, path?: string): void {
  if (path === undefined) {
    expect(encodeArguments([a])).not.toBe(encodeArguments([b]))
    return
  }
  expect(refusal([a]).path).toBe(path)
  expect(refusal([b]).path).toBe(path)
}

// Every case below got one key for both values before keys covered the complete observable state.
describe('argument keys cover the complete observable state', () => {
  it('refuses class instances whose state it cannot see (#private fields)', () => {
    class Account {
      #balance: number
      constructor(balance: number) {
        this.#balance = balance
      }
      get balance() {
        return this.#balance
      }
    }
    expectDistinctOrRefused(new Account(1), new Account(2), 'args[0]')
    expect(refusal([new Account(1)]).message).toContain('[cacheKey]()')
    expect(refusal([{ nested: [new Account(1)] }]).path).toBe('args[0].nested[0]')
  })

  it('keys URLSearchParams by their entries, in order', () => {
    expectDistinctOrRefused(new URLSearchParams('a=1'), new URLSearchParams('a=2'))
    expectDistinctOrRefused(new URLSearchParams('a=1&b=2'), new URLSearchParams('b=2&a=1'))
    expect(encodeArguments([new URLSearchParams('a=1')])).toBe(encodeArguments([new URLSearchParams('a=1')]))
  })

  it('keys Headers by their entries', () => {
    expectDistinctOrRefused(new Headers({ accept: 'a' }), new Headers({ accept: 'b' }))
    expect(encodeArguments([new Headers({ A: '1', b: '2' })])).toBe(
      encodeArguments([new Headers({ b: '2', a: '1' })]),
    )
  })

  it('refuses Blobs, whose content is only readable asynchronously', () => {
    expectDistinctOrRefused(new Blob(['a']), new Blob(['b']), 'args[0]')
  })

  it('keys boxed primitives by value and box type', () => {
    expectDistinctOrRefused(new Number(1), new Number(2))
    expectDistinctOrRefused(new String('a'), new String('b'))
    expectDistinctOrRefused(new Boolean(true), new Boolean(false))
    expectDistinctOrRefused(Object(1n), Object(2n))
    expectDistinctOrRefused(new Number(1), 1)
    expectDistinctOrRefused(new String('1'), '1')
    expectDistinctOrRefused(new Number(1), new String('1'))
    expect(encodeArguments([new Number(1)])).toBe(encodeArguments([new Number(1)]))
  })

  it('refuses SharedArrayBuffers and views of them', () => {
    const a = new SharedArrayBuffer(1)
    const b = new SharedArrayBuffer(1)
    new Uint8Array(b)[0] = 1
    expectDistinctOrRefused(a, b, 'args[0]')
    expectDistinctOrRefused(new Uint8Array(a), new Uint8Array(b), 'args[0]')
  })

  it('refuses symbol-keyed properties', () => {
    const s = Symbol('s')
    expectDistinctOrRefused({ [s]: 1 }, { [s]: 2 }, 'args[0][Symbol(s)]')
  })

  it('refuses non-enumerable properties', () => {
    const hidden = (value: number) => Object.defineProperty({}, 'x', { value, enumerable: false })
    expectDistinctOrRefused(hidden(1), hidden(2), 'args[0].x')
  })

  it('keys errors by type, message, cause and own properties', () => {
    expectDistinctOrRefused(new Error('x', { cause: 1 }), new Error('x', { cause: 2 }))
    expectDistinctOrRefused(new Error('x', { cause: undefined }), new Error('x'))
    expectDistinctOrRefused(new TypeError('x'), new Error('x'))
    expectDistinctOrRefused(new Error('x'), new Error('y'))
    expectDistinctOrRefused(
      Object.assign(new Error('x'), { code: 1 }),
      Object.assign(new Error('x'), { code: 2 }),
    )
    expectDistinctOrRefused(new AggregateError([1], 'x'), new AggregateError([2], 'x'))
    // Where the error was made is not what it says: the stack is left out.
    const made = () => new RangeError('same')
    expect(encodeArguments([made()])).toBe(encodeArguments([new RangeError('same')]))
  })

  it('refuses subclasses of Error without [cacheKey]', () => {
    class NotFound extends Error {}
    class Gone extends Error {}
    expectDistinctOrRefused(new NotFound('x'), new Gone('x'), 'args[0]')
  })

  it('refuses arrays with extra properties', () => {
    expectDistinctOrRefused(Object.assign([1], { x: 1 }), Object.assign([1], { x: 2 }), 'args[0].x')
    // `match()` results carry `index` and `input`: two matches at different places are not one argument.
    expectDistinctOrRefused('ab'.match(/b/), 'bb'.match(/b/), 'args[0].index')
    const long = (x: number) => Object.assign(new Array(500).fill(0), { x })
    expectDistinctOrRefused(long(1), long(2), 'args[0].x')
    const hidden = Object.defineProperty(new Array(500).fill(0), 'h', { value: 1 })
    expect(refusal([hidden]).path).toBe('args[0].h')
  })

  it('refuses typed arrays with extra properties', () => {
    expectDistinctOrRefused(
      Object.assign(new Uint8Array(2), { x: 1 }),
      Object.assign(new Uint8Array(2), { x: 2 }),
      'args[0].x',
    )
    const big = (value: number) => Object.defineProperty(Buffer.alloc(4096), 'x', { value })
    expectDistinctOrRefused(big(1), big(2), 'args[0].x')
    const s = Symbol('tag')
    expect(refusal([Object.assign(new Float64Array(100), { [s]: 1 })]).path).toBe('args[0][Symbol(tag)]')
    // A clean view is keyed by the bytes it shows, whatever else its buffer holds.
    const whole = Buffer.from([9, 1, 2, 9])
    expect(encodeArguments([whole.subarray(1, 3)])).toBe(encodeArguments([Buffer.from([1, 2])]))
  })

  it('tells a hole from an undefined element', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expectDistinctOrRefused([, 1], [undefined, 1])
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expectDistinctOrRefused([1, ,], [1, undefined])
    const holey = new Array(100)
    holey[50] = 1
    const filled = new Array(100).fill(undefined)
    filled[50] = 1
    expectDistinctOrRefused(holey, filled)
  })

  it('refuses anonymous classes', () => {
    const a = new (class {
      x = 1
    })()
    const b = new (class {
      x = 1
      y = 2
    })()
    expectDistinctOrRefused(a, b, 'args[0]')
  })

  it('refuses a subclass of a typed array that takes the built-in name', () => {
    // biome-ignore lint/suspicious/noShadowRestrictedNames: the impostor takes the built-in's name on purpose
    const Impostor = class Uint8Array extends globalThis.Uint8Array {}
    expect(Impostor.name).toBe('Uint8Array')
    expect(refusal([new Impostor([1])]).path).toBe('args[0]')
    expect(encodeArguments([new Uint8Array([1])])).not.toBe(encodeArguments([new Uint16Array([1])]))
    expect(encodeArguments([new Uint8Array([1])])).not.toBe(encodeArguments([Buffer.from([1])]))
  })

  it('keys RegExps with their lastIndex and URLs by href', () => {
    const moved = /a/g
    moved.lastIndex = 1
    expectDistinctOrRefused(moved, /a/g)
    expectDistinctOrRefused(new URL('https://a.example/x'), new URL('https://a.example/y'))
    expect(refusal([Object.assign(new Date(0), { x: 1 })]).path).toBe('args[0].x')
    expect(refusal([Object.assign(new Map(), { x: 1 })]).path).toBe('args[0].x')
  })
})

describe('[cacheKey]', () => {
  class Money {
    #cents: bigint
    readonly currency: string
    constructor(cents: bigint, currency: string) {
      this.#cents = cents
      this.currency = currency
    }
    [cacheKey]() {
      return [this.#cents, this.currency]
    }
  }

  it('keys an instance by its class and what [cacheKey]() returns', () => {
    expect(encodeArguments([new Money(1n, 'EUR')])).toBe(encodeArguments([new Money(1n, 'EUR')]))
    expect(encodeArguments([new Money(1n, 'EUR')])).not.toBe(encodeArguments([new Money(2n, 'EUR')]))
    expect(encodeArguments([new Money(1n, 'EUR')])).not.toBe(encodeArguments([[1n, 'EUR']]))
    class Price {
      #cents: bigint
      readonly currency: string
      constructor(cents: bigint, currency: string) {
        this.#cents = cents
        this.currency = currency
      }
      [cacheKey]() {
        return [this.#cents, this.currency]
      }
    }
    expect(encodeArguments([new Money(1n, 'EUR')])).not.toBe(encodeArguments([new Price(1n, 'EUR')]))
  })

  it('keys subclasses of built-ins that implement it', () => {
    class Registry extends Map<string, number> {
      [cacheKey]() {
        return [...this]
      }
    }
    const a = new Registry([['a', 1]])
    expect(encodeArguments([a])).toBe(encodeArguments([new Registry([['a', 1]])]))
    expect(encodeArguments([a])).not.toBe(encodeArguments([new Map([['a', 1]])]))
  })

  it('refuses a second class of the same name, whose keys would collide', () => {
    const make = () =>
      class Twin {
        [cacheKey]() {
          return 1
        }
      }
    const First = make()
    const Second = make()
    expect(encodeArguments([new First()])).toBe(encodeArguments([new First()]))
    const error = refusal([new Second()])
    expect(error.path).toBe('args[0]')
    expect(error.message).toContain('another class named Twin')
  })

  it('refuses anonymous classes, a key that throws, a key that returns the instance', () => {
    const anonymous = new (class {
      [cacheKey]() {
        return 1
      }
    })()
    expect(refusal([anonymous]).path).toBe('args[0]')
    class Broken {
      [cacheKey](): unknown {
        throw new Error('no id yet')
      }
    }
    const thrown = refusal([{ item: new Broken() }])
    expect(thrown.path).toBe('args[0].item[cacheKey]()')
    expect(thrown.message).toContain('no id yet')
    class Itself {
      [cacheKey](): unknown {
        return this
      }
    }
    expect(refusal([new Itself()]).path).toBe('args[0][cacheKey]()')
  })

  it('is the registered symbol rapide.cacheKey', () => {
    expect(cacheKey).toBe(Symbol.for('rapide.cacheKey'))
  })
})

describe('bounded work: a typed error, in bounded time', () => {
  it('refuses 100k nested arrays and objects (no stack overflow)', { timeout: 2000 }, () => {
    let arrays: unknown = []
    let objects: unknown = {}
    for (let i = 0; i < 100_000; i++) {
      arrays = [arrays]
      objects = { a: objects }
    }
    const deepArrays = refusal([arrays])
    expect(deepArrays.message).toContain(`nested deeper than ${MAX_KEY_DEPTH} levels`)
    expect(deepArrays.path).toBe(`args[0]${'[0]'.repeat(MAX_KEY_DEPTH)}`)
    expect(refusal([1, objects]).message).toContain(`nested deeper than ${MAX_KEY_DEPTH} levels`)
  })

  it('refuses a sparse array of length 3e7 before walking it', { timeout: 2000 }, () => {
    const sparse: unknown[] = []
    sparse.length = 3e7
    sparse[5] = 1
    const error = refusal([sparse])
    expect(error.path).toBe('args[0]')
    expect(error.message).toContain(`more than ${MAX_KEY_SLOTS} values`)
  })

  it('refuses a Map larger than the budget before walking it', { timeout: 2000 }, () => {
    const huge = new Map<number, number>()
    for (let i = 0; i <= MAX_KEY_SLOTS; i++) huge.set(i, i)
    expect(refusal([{ index: huge }]).path).toBe('args[0].index')
  })

  it('counts the budget over the whole call', { timeout: 2000 }, () => {
    const row = new Array(1000).fill(0)
    const rows = Array.from({ length: 600 }, () => row)
    // Each argument alone fits; together they exceed the budget.
    expect(() => encodeArguments([rows])).not.toThrow()
    expect(refusal([rows, rows]).path).toMatch(/^args\[1\]/)
  })

  it('refuses more than the byte budget of strings', { timeout: 2000 }, () => {
    const megabyte = 'x'.repeat(1 << 20)
    expect(refusal([new Array(100).fill(megabyte)]).message).toContain('characters and bytes')
  })

  it('turns a getter that throws into a typed error naming it', { timeout: 2000 }, () => {
    const user = {
      id: 1,
      get name(): string {
        throw new Error('not loaded')
      },
    }
    const error = refusal([{ user }])
    expect(error.path).toBe('args[0].user.name')
    expect(error.message).toContain('not loaded')
    const element = Object.defineProperty([1, 2], 1, {
      get() {
        throw new Error('lazy')
      },
    })
    expect(refusal([element]).path).toBe('args[0][1]')
  })

  it('turns a proxy trap that throws into a typed error naming the argument', { timeout: 2000 }, () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap')
        },
      },
    )
    expect(refusal([{ deep: hostile }]).path).toBe('args[0].deep')
  })
})
