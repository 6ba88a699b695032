import { inspect, types } from 'node:util'
import { UnkeyableArgumentError } from '../errors.js'
import { type CacheKeyable, cacheKey } from './cache-key.js'

/**
 * Canonical, type-tagged encoding of call arguments. Two argument lists get the same encoding exactly
 * when they are the same call, that is when every argument has the same complete observable state:
 * - trailing `undefined` arguments are dropped, so `f(1)` and `f(1, undefined)` are one call;
 * - every value carries its type: `1` (`n1`) never meets `'1'` (`"1"`), `null` (`z`) never meets
 *   `undefined` (`u`), a `Date` (`D…`) never meets its ISO string, a `Map` never meets a plain object,
 *   `new Number(1)` never meets `1`, an array hole (`_`) never meets `undefined`;
 * - object keys are sorted, and so are `Map` entries and `Set` members: insertion order is not identity
 *   (`URLSearchParams` keeps its order, which its users observe);
 * - properties whose value is `undefined` are left out, as in JSON (an optional property that is absent
 *   and one set to `undefined` are the same argument); a null-prototype object is a plain object;
 * - built-ins are keyed by their whole state: `Date`, `RegExp` (with `lastIndex`), `URL`,
 *   `URLSearchParams`, `Headers`, `Map`, `Set`, boxed primitives, `ArrayBuffer`, `DataView`, typed
 *   arrays and `Buffer` (a view by its type and the bytes it shows), and the standard errors (type, own
 *   properties such as `message`, `cause` and `errors`; the `stack` is where the error was made, not what
 *   it says, and is left out);
 * - an instance of any other class is keyed only through its `[cacheKey]()` method (see
 *   {@link cacheKey}): what a class keeps in `#private` fields or closures is invisible from outside, so
 *   keying its enumerable properties could make two different instances one key;
 * - everything else throws {@link UnkeyableArgumentError} naming the argument path and what to do:
 *   functions, symbols, promises, weak collections, `Blob`s, shared memory, cycles, symbol-keyed or
 *   non-enumerable properties of plain objects, extra properties on arrays and typed arrays, getters
 *   that throw, and subclasses of built-ins without `[cacheKey]`;
 * - the work is bounded: objects nested deeper than {@link MAX_KEY_DEPTH} levels, arguments holding
 *   more than {@link MAX_KEY_SLOTS} values (array slots, properties, entries) or more than
 *   {@link MAX_KEY_BYTES} characters and bytes are refused before the work grows, never a stack overflow
 *   or a long stall (a sparse array of length 3e7 is refused at once).
 *
 * The grammar nests and every composite is delimited, so distinct inputs cannot concatenate into the
 * same string.
 */
export function encodeArguments(args: readonly unknown[]): string {
  let length = args.length
  while (length > 0 && args[length - 1] === undefined) length--
  if (length === 1) return encodeValue(args[0], 'args[0]')
  if (length === 0) return '()'
  // One budget for the whole call, created only when an argument is an object.
  let walk: Walk | undefined
  let out = '('
  for (let i = 0; i < length; i++) {
    if (i > 0) out += ','
    const arg = args[i]
    if (typeof arg === 'object' && arg !== null) {
      walk ??= newWalk()
      out += encodeObject(arg, `args[${i}]`, walk)
    } else {
      out += encodeNested(arg, `args[${i}]`, undefined)
    }
  }
  return `${out})`
}

/** Objects nested deeper than this are refused (bounded recursion: never a stack overflow). */
export const MAX_KEY_DEPTH = 1000
/**
 * Values one call's arguments may hold: array slots (holes included, counted before the array is
 * walked), object properties, `Map` entries, `Set` members and nested objects. Beyond it the call is
 * refused: a key is worth computing only if it costs far less than the call.
 */
export const MAX_KEY_SLOTS = 1_000_000
/** Characters of nested strings plus bytes of binary data one call's arguments may hold (64 MiB). */
export const MAX_KEY_BYTES = 64 * 1024 * 1024

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

/** The state of one encoding: the objects being encoded (for cycles and depth) and what is left to spend. */
interface Walk {
  readonly ancestors: Set<object>
  slots: number
  bytes: number
}

function newWalk(): Walk {
  return { ancestors: new Set(), slots: MAX_KEY_SLOTS, bytes: MAX_KEY_BYTES }
}

function spendSlots(walk: Walk, count: number, path: string): void {
  walk.slots -= count
  if (walk.slots < 0) {
    throw new UnkeyableArgumentError(
      path,
      `makes the arguments hold more than ${MAX_KEY_SLOTS} values (array slots, properties, entries); pass a custom \`key\` (an id or a digest)`,
    )
  }
}

function spendBytes(walk: Walk, count: number, path: string): void {
  walk.bytes -= count
  if (walk.bytes < 0) {
    throw new UnkeyableArgumentError(
      path,
      `makes the arguments hold more than ${MAX_KEY_BYTES} characters and bytes; pass a custom \`key\` (an id or a digest)`,
    )
  }
}

// Strings that JSON would not escape (no quote, backslash, control character or surrogate) are quoted
// directly: the same text as `JSON.stringify`, at a fraction of its cost on short strings.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes
const NEEDS_NO_ESCAPE = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

function quote(text: string): string {
  return text.length <= 64 && NEEDS_NO_ESCAPE.test(text) ? `"${text}"` : JSON.stringify(text)
}

/** Sorts in code-unit order like `Array.prototype.sort()`; insertion sort is faster on the few keys objects have. */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = key
  }
  return keys
}

/**
 * Whether an object owns properties a listing of its enumerable string keys misses: symbol-keyed or
 * non-enumerable ones. (`Reflect.ownKeys` would answer in one call, but costs several times more.)
 */
function hasHiddenProperties(value: object, visible: number): boolean {
  return (
    Object.getOwnPropertyNames(value).length !== visible || Object.getOwnPropertySymbols(value).length !== 0
  )
}

/** A nested string, whose path (`parent[step]` or `parent.step`) is built only if it is refused. */
function encodeString(text: string, walk: Walk, parent: string, step: string | number): string {
  walk.bytes -= text.length
  if (walk.bytes < 0)
    spendBytes(walk, 0, typeof step === 'number' ? `${parent}[${step}]` : `${parent}.${step}`)
  return quote(text)
}

function encodeNumber(value: number): string {
  return value === 0 && 1 / value < 0 ? 'n-0' : `n${value}`
}

function encodeNested(value: unknown, path: string, walk: Walk | undefined): string {
  switch (typeof value) {
    case 'string':
      if (walk !== undefined) spendBytes(walk, value.length, path)
      return quote(value)
    case 'number':
      return encodeNumber(value)
    case 'boolean':
      return value ? 't' : 'f'
    case 'undefined':
      return 'u'
    case 'bigint':
      return `b${value}`
    case 'object':
      return value === null ? 'z' : encodeObject(value, path, walk ?? newWalk())
    case 'function':
      throw new UnkeyableArgumentError(path, 'is a function; pass a custom `key` or exclude the argument')
    case 'symbol':
      throw new UnkeyableArgumentError(path, 'is a symbol; symbols have no stable identity across processes')
    default:
      throw new UnkeyableArgumentError(path, `has unsupported type ${typeof value}`)
  }
}

function encodeObject(value: object, path: string, walk: Walk): string {
  const { ancestors } = walk
  if (ancestors.has(value)) {
    throw new UnkeyableArgumentError(path, 'contains a cycle (an object that contains itself)')
  }
  if (ancestors.size >= MAX_KEY_DEPTH) {
    throw new UnkeyableArgumentError(
      path,
      `is nested deeper than ${MAX_KEY_DEPTH} levels; pass a custom \`key\``,
    )
  }
  spendSlots(walk, 1, path)
  ancestors.add(value)
  try {
    // Dispatch on the exact prototype, never on `instanceof`: a subclass of a built-in (or an object
    // dressed up as one) may hold state the built-in's encoding would not see.
    const proto: object | null = Object.getPrototypeOf(value)
    if (proto === Object.prototype || proto === null) return encodeProperties(value, path, walk)
    if (proto === Array.prototype) return encodeArray(value as readonly unknown[], path, walk)
    const builtin = builtins.get(proto)
    if (builtin !== undefined) return builtin(value, path, walk)
    return encodeInstance(value, proto, path, walk)
  } catch (error) {
    throw asUnkeyable(error, path)
  } finally {
    ancestors.delete(value)
  }
}

/** A plain object: its own enumerable string-keyed properties, sorted, `undefined` ones left out. */
function encodeProperties(value: object, path: string, walk: Walk): string {
  const keys = Object.keys(value)
  // Symbol-keyed and non-enumerable properties are state too: refuse rather than drop them silently.
  if (hasHiddenProperties(value, keys.length)) refuseHiddenProperty(value, path)
  spendSlots(walk, keys.length, path)
  sortKeys(keys)
  let out = '{'
  let first = true
  for (const key of keys) {
    const property = readProperty(value, key, path)
    if (property === undefined) continue
    if (!first) out += ','
    first = false
    spendBytes(walk, key.length, path)
    out += `${quote(key)}:`
    if (typeof property === 'number') out += encodeNumber(property)
    else if (typeof property === 'string') out += encodeString(property, walk, path, key)
    else out += encodeNested(property, `${path}.${key}`, walk)
  }
  return `${out}}`
}

function readProperty(value: object, key: string, path: string): unknown {
  try {
    return (value as Record<string, unknown>)[key]
  } catch (error) {
    throw new UnkeyableArgumentError(
      `${path}.${key}`,
      `could not be read: its getter threw (${describeError(error)}); pass a custom \`key\``,
    )
  }
}

/** Arrays up to this length are checked for extra properties by listing their keys; longer ones by shape. */
const LISTED_LENGTH = 64

function encodeArray(value: readonly unknown[], path: string, walk: Walk): string {
  const length = value.length
  // Before walking: a sparse array of length 3e7 holds almost nothing but would take seconds to walk.
  spendSlots(walk, length, path)
  let out = '['
  let present = 0
  for (let i = 0; i < length; i++) {
    if (i > 0) out += ','
    let element: unknown
    try {
      element = value[i]
    } catch (error) {
      throw new UnkeyableArgumentError(
        `${path}[${i}]`,
        `could not be read: its getter threw (${describeError(error)}); pass a custom \`key\``,
      )
    }
    // A hole and an `undefined` element differ (`i in array`, `forEach`, `Object.keys` tell them apart).
    if (element === undefined && !(i in value)) {
      out += '_'
      continue
    }
    present++
    // Primitives need no path unless they fail, so none is built for them.
    if (typeof element === 'number') out += encodeNumber(element)
    else if (typeof element === 'string') out += encodeString(element, walk, path, i)
    else out += encodeNested(element, `${path}[${i}]`, walk)
  }
  // Own properties are the present indices and `length`; anything else (`match()` results carry
  // `index` and `input`) would be dropped by the element-wise encoding.
  const extra =
    length <= LISTED_LENGTH ? hasHiddenProperties(value, present + 1) : !sameShape(value, holeyArray(length))
  if (extra) refuseExtraProperty(value, path)
  return `${out}]`
}

function holeyArray(length: number): unknown[] {
  const array: unknown[] = []
  array.length = length
  return array
}

// `inspect` lists every own non-index property (symbols and non-enumerable ones too with `showHidden`)
// through Node's native non-index lookup, so comparing an object's shape with a clean object of the same
// kind and length finds extra properties in constant time, where listing the keys of a 1 MB buffer would
// allocate a million strings. Items, nested values and getters are not expanded.
const shapeOptions = {
  showHidden: true,
  depth: 0,
  maxArrayLength: 0,
  maxStringLength: 0,
  customInspect: false,
  getters: false,
  breakLength: Number.POSITIVE_INFINITY,
} as const

function sameShape(value: object, clean: object): boolean {
  return inspect(value, shapeOptions) === inspect(clean, shapeOptions)
}

function refuseHiddenProperty(value: object, path: string): never {
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol') {
      throw new UnkeyableArgumentError(
        `${path}[${String(key)}]`,
        'is a symbol-keyed property, which a key cannot include; use a string key or pass a custom `key`',
      )
    }
    if (!Object.prototype.propertyIsEnumerable.call(value, key)) {
      throw new UnkeyableArgumentError(
        `${path}.${key}`,
        'is a non-enumerable property, which a key cannot include; make it enumerable or pass a custom `key`',
      )
    }
  }
  throw new UnkeyableArgumentError(path, 'has properties that cannot be listed; pass a custom `key`')
}

/** Names the first own property of an array or typed array that is neither an index nor `length`. */
function refuseExtraProperty(value: object, path: string): never {
  const isArray = Array.isArray(value)
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'string' && (isIndex(key) || (isArray && key === 'length'))) continue
    throw new UnkeyableArgumentError(
      typeof key === 'symbol' ? `${path}[${String(key)}]` : `${path}.${key}`,
      `is a property added to ${isArray ? 'an array' : 'a typed array'}, which a key cannot include; pass a plain ${isArray ? 'array' : 'copy'} or a custom \`key\``,
    )
  }
  throw new UnkeyableArgumentError(path, 'has properties that cannot be listed; pass a custom `key`')
}

function isIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1
}

/** Built-ins with no own properties at all (their state lives in internal slots). */
function refuseOwnProperties(value: object, path: string, allowed = 0): void {
  if (!hasHiddenProperties(value, allowed)) return
  const keys = Reflect.ownKeys(value)
  // The properties a built-in owns itself: a String box's indices and `length`, a RegExp's `lastIndex`.
  const own = (key: string | symbol) =>
    typeof key === 'string' && (isIndex(key) || key === 'length' || key === 'lastIndex')
  const key = keys.find((k) => !own(k)) ?? keys[keys.length - 1]
  throw new UnkeyableArgumentError(
    typeof key === 'symbol' ? `${path}[${String(key)}]` : `${path}.${String(key)}`,
    'is a property added to a built-in object, which a key cannot include; pass a custom `key`',
  )
}

type Encoder = (value: object, path: string, walk: Walk) => string

/** Encoders of the built-ins keyed by their full state, and reasons for the ones refused, by prototype. */
const builtins = new Map<object, Encoder>()

function refuse(reason: string): Encoder {
  return (_value, path) => {
    throw new UnkeyableArgumentError(path, reason)
  }
}

builtins.set(Date.prototype, (value, path) => {
  refuseOwnProperties(value, path)
  return `D${Date.prototype.getTime.call(value)}`
})
builtins.set(RegExp.prototype, (value, path) => {
  // `lastIndex` is where a global or sticky RegExp resumes matching: it changes what `exec` returns.
  refuseOwnProperties(value, path, 1)
  const regExp = value as RegExp
  return `R${regExp.lastIndex}${JSON.stringify(RegExp.prototype.toString.call(regExp))}`
})
builtins.set(URL.prototype, (value, path, walk) => {
  refuseOwnProperties(value, path)
  const href = (value as URL).href
  spendBytes(walk, href.length, path)
  return `U${JSON.stringify(href)}`
})
// Parameter order is observable (`getAll`, `toString`, repeated names), so entries keep their order.
builtins.set(URLSearchParams.prototype, (value, path, walk) => {
  refuseOwnProperties(value, path)
  const text = JSON.stringify([...(value as URLSearchParams)])
  spendBytes(walk, text.length, path)
  return `Q${text}`
})
if (typeof Headers === 'function') {
  // Headers iterate sorted and lower-cased, as every reader sees them.
  builtins.set(Headers.prototype, (value, path, walk) => {
    refuseOwnProperties(value, path)
    const text = JSON.stringify([...(value as Headers)])
    spendBytes(walk, text.length, path)
    return `H${text}`
  })
}
builtins.set(Map.prototype, (value, path, walk) => {
  refuseOwnProperties(value, path)
  const map = value as Map<unknown, unknown>
  spendSlots(walk, map.size, path)
  const entries: string[] = []
  const keyPath = `${path}.<map key>`
  for (const [k, v] of map) {
    entries.push(`${encodeNested(k, keyPath, walk)}:${encodeMapValue(v, k, path, walk)}`)
  }
  return `M{${entries.sort().join(',')}}`
})
/** A Map value; its path (`map.get(key)`) is built only for values that may fail. */
function encodeMapValue(value: unknown, key: unknown, path: string, walk: Walk): string {
  if (typeof value === 'number') return encodeNumber(value)
  if (typeof value === 'string' && walk.bytes >= value.length) {
    walk.bytes -= value.length
    return quote(value)
  }
  return encodeNested(value, `${path}.get(${describe(key)})`, walk)
}

builtins.set(Set.prototype, (value, path, walk) => {
  refuseOwnProperties(value, path)
  const set = value as Set<unknown>
  spendSlots(walk, set.size, path)
  const members: string[] = []
  const memberPath = `${path}.<set member>`
  for (const member of set) members.push(encodeNested(member, memberPath, walk))
  return `S[${members.sort().join(',')}]`
})

// Boxed primitives: `new Number(1)` is an object (truthy even when it boxes 0), never the number itself.
builtins.set(Number.prototype, (value, path) => {
  refuseOwnProperties(value, path)
  return `P${encodeNumber(Number.prototype.valueOf.call(value))}`
})
builtins.set(Boolean.prototype, (value, path) => {
  refuseOwnProperties(value, path)
  return Boolean.prototype.valueOf.call(value) ? 'Pt' : 'Pf'
})
builtins.set(BigInt.prototype, (value, path) => {
  refuseOwnProperties(value, path)
  return `Pb${BigInt.prototype.valueOf.call(value)}`
})
builtins.set(String.prototype, (value, path, walk) => {
  const text = String.prototype.valueOf.call(value)
  // A String box owns its indices and `length`.
  refuseOwnProperties(value, path, text.length + 1)
  spendBytes(walk, text.length, path)
  return `P${JSON.stringify(text)}`
})
builtins.set(Symbol.prototype, refuse('is a boxed symbol; symbols have no stable identity across processes'))

const typedArrays: [string, { prototype: object; new (b: ArrayBufferLike, o: number, l: number): object }][] =
  [
    ['Int8Array', Int8Array],
    ['Uint8Array', Uint8Array],
    ['Uint8ClampedArray', Uint8ClampedArray],
    ['Int16Array', Int16Array],
    ['Uint16Array', Uint16Array],
    ['Int32Array', Int32Array],
    ['Uint32Array', Uint32Array],
    ['Float32Array', Float32Array],
    ['Float64Array', Float64Array],
    ['BigInt64Array', BigInt64Array],
    ['BigUint64Array', BigUint64Array],
  ]
for (const [name, TypedArray] of typedArrays) {
  builtins.set(
    TypedArray.prototype,
    viewEncoder(
      `T${name}`,
      (view) => new TypedArray(view.buffer, view.byteOffset, (view as Uint8Array).length),
    ),
  )
}
// A Buffer stays distinct from a Uint8Array with the same bytes, as it always was.
builtins.set(
  Buffer.prototype,
  viewEncoder('TBuffer', (view) => Buffer.from(view.buffer, view.byteOffset, view.byteLength)),
)
builtins.set(
  DataView.prototype,
  viewEncoder('V', () => undefined),
)

/** A view is keyed by its type and the bytes it shows (not the rest of its buffer). */
function viewEncoder(tag: string, clean: (view: ArrayBufferView) => object | undefined): Encoder {
  return (value, path, walk) => {
    const view = value as ArrayBufferView
    const buffer = view.buffer
    if (types.isSharedArrayBuffer(buffer)) {
      throw new UnkeyableArgumentError(path, `is a view of ${SHARED_MEMORY}`)
    }
    if ((buffer as { resizable?: boolean }).resizable === true) {
      throw new UnkeyableArgumentError(
        path,
        'is a view of a resizable ArrayBuffer, whose length can change; pass a copy or a custom `key`',
      )
    }
    const reference = clean(view)
    if (reference === undefined) {
      refuseOwnProperties(value, path)
    } else {
      const length = (view as Uint8Array).length
      const extra =
        length <= LISTED_LENGTH ? Reflect.ownKeys(value).length !== length : !sameShape(value, reference)
      if (extra) refuseExtraProperty(value, path)
    }
    spendBytes(walk, view.byteLength, path)
    return `${tag}(${Buffer.from(buffer, view.byteOffset, view.byteLength).toString('base64')})`
  }
}

builtins.set(ArrayBuffer.prototype, (value, path, walk) => {
  refuseOwnProperties(value, path)
  const buffer = value as ArrayBuffer & { resizable?: boolean; maxByteLength?: number }
  spendBytes(walk, buffer.byteLength, path)
  const content = Buffer.from(buffer).toString('base64')
  // A resizable buffer can grow up to its maximum: that is part of what it is.
  return buffer.resizable === true ? `A~${buffer.maxByteLength}(${content})` : `A(${content})`
})

const SHARED_MEMORY =
  'shared memory (a SharedArrayBuffer), which another thread can change while the call runs; pass a copy or a custom `key`'
builtins.set(SharedArrayBuffer.prototype, refuse(`is ${SHARED_MEMORY}`))

const errorTypes: [string, { prototype: object }][] = [
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['ReferenceError', ReferenceError],
  ['SyntaxError', SyntaxError],
  ['EvalError', EvalError],
  ['URIError', URIError],
  ['AggregateError', AggregateError],
]
for (const [name, ErrorType] of errorTypes) {
  builtins.set(ErrorType.prototype, (value, path, walk) => encodeError(name, value, path, walk))
}

/**
 * A standard error: its type and every own property but `stack` (`message`, `cause` and `errors` are
 * non-enumerable, so each property carries whether it is enumerable; an own `cause: undefined` is kept:
 * `'cause' in error` sees it).
 */
function encodeError(type: string, value: object, path: string, walk: Walk): string {
  const symbol = Object.getOwnPropertySymbols(value)[0]
  if (symbol !== undefined) {
    throw new UnkeyableArgumentError(
      `${path}[${String(symbol)}]`,
      'is a symbol-keyed property, which a key cannot include; pass a custom `key`',
    )
  }
  const names = Object.getOwnPropertyNames(value)
    .filter((name) => name !== 'stack')
    .sort()
  spendSlots(walk, names.length, path)
  let out = `E${JSON.stringify(type)}{`
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    if (i > 0) out += ','
    spendBytes(walk, name.length, path)
    const separator = Object.prototype.propertyIsEnumerable.call(value, name) ? ':' : '~'
    out += `${JSON.stringify(name)}${separator}${encodeNested(readProperty(value, name, path), `${path}.${name}`, walk)}`
  }
  return `${out}}`
}

const NO_CONTENT = 'which has no content to key on; pass a custom `key` or exclude the argument'
builtins.set(Promise.prototype, refuse('is a promise; await it before the call, or pass a custom `key`'))
builtins.set(WeakMap.prototype, refuse(`is a WeakMap, ${NO_CONTENT}`))
builtins.set(WeakSet.prototype, refuse(`is a WeakSet, ${NO_CONTENT}`))
builtins.set(WeakRef.prototype, refuse(`is a WeakRef, ${NO_CONTENT}`))
builtins.set(FinalizationRegistry.prototype, refuse(`is a FinalizationRegistry, ${NO_CONTENT}`))
const ASYNC_CONTENT =
  'whose content can only be read asynchronously; key on an id or a digest of its bytes with a custom `key`'
if (typeof Blob === 'function') builtins.set(Blob.prototype, refuse(`is a Blob, ${ASYNC_CONTENT}`))
const FileClass = (globalThis as { File?: { prototype: object } }).File
if (FileClass !== undefined) builtins.set(FileClass.prototype, refuse(`is a File, ${ASYNC_CONTENT}`))

/**
 * An instance of any other class: keyed by its class name and what its `[cacheKey]()` returns, or
 * refused. Its own enumerable properties are not enough: `#private` fields, closures and `WeakMap`-held
 * data are invisible from outside, so two instances that behave differently could share a key.
 */
function encodeInstance(value: object, proto: object, path: string, walk: Walk): string {
  const method = (value as Partial<CacheKeyable>)[cacheKey]
  if (typeof method !== 'function') throw new UnkeyableArgumentError(path, whyRefused(value, proto))
  const ownClass = classOf(proto)
  if (ownClass === undefined) {
    throw new UnkeyableArgumentError(
      path,
      'has a prototype that is not a class prototype, so its kind cannot be keyed; pass a custom `key`',
    )
  }
  const name = ownClass.name
  if (typeof name !== 'string' || name === '') {
    throw new UnkeyableArgumentError(
      path,
      'is an instance of an anonymous class, which has no name to key on; give the class a name or pass a custom `key`',
    )
  }
  claimClassName(name, ownClass, path)
  const methodPath = `${path}[cacheKey]()`
  let identity: unknown
  try {
    identity = method.call(value)
  } catch (error) {
    throw new UnkeyableArgumentError(methodPath, `threw (${describeError(error)})`)
  }
  return `K${JSON.stringify(name)}(${encodeNested(identity, methodPath, walk)})`
}

function classOf(proto: object): { name: unknown } | undefined {
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'constructor')
  const candidate: unknown = descriptor?.value
  return typeof candidate === 'function' && candidate.prototype === proto ? candidate : undefined
}

/**
 * The class name stands for the class in keys shared between processes, so two distinct classes of one
 * name in a process would share keys: the second one is refused. A class that is no longer referenced
 * frees its name.
 */
const keyedClasses = new Map<string, WeakRef<object>>()

function claimClassName(name: string, ownClass: object, path: string): void {
  const known = keyedClasses.get(name)?.deref()
  if (known === ownClass) return
  if (known !== undefined) {
    throw new UnkeyableArgumentError(
      path,
      `is an instance of class ${name}, but another class named ${name} is keyed in this process: their keys would collide; rename one of them`,
    )
  }
  keyedClasses.set(name, new WeakRef(ownClass))
}

function whyRefused(value: object, proto: object): string {
  const remedy =
    "implement `[cacheKey]()` on the class (`import { cacheKey } from '@rapide/core'`) or pass a custom `key`"
  if (typeof (value as { then?: unknown }).then === 'function') {
    return 'is a promise-like object (it has a `then` method); await it before the call, or pass a custom `key`'
  }
  const name = (classOf(proto)?.name as string | undefined) || undefined
  for (let p: object | null = Object.getPrototypeOf(proto); p !== null; p = Object.getPrototypeOf(p)) {
    if (p === Object.prototype) break
    if (builtins.has(p)) {
      const base = (classOf(p)?.name as string | undefined) ?? 'a built-in'
      return `is an instance of ${name ? `class ${name}` : 'an anonymous class'} (a subclass of ${base}), whose added state a key cannot see in full; ${remedy}`
    }
  }
  if (looksBuiltIn(value)) {
    return `is a built-in object from another realm (a vm context or a test environment), which rapide cannot tell apart from a subclass; pass a custom \`key\``
  }
  if (name === undefined)
    return `is an instance of an anonymous class, whose state a key cannot see in full; pass a custom \`key\``
  return `is an instance of class ${name}, whose state (\`#private\` fields, closures) a key cannot see in full; ${remedy}`
}

function looksBuiltIn(value: object): boolean {
  return (
    Array.isArray(value) ||
    types.isDate(value) ||
    types.isMap(value) ||
    types.isSet(value) ||
    types.isRegExp(value) ||
    types.isTypedArray(value) ||
    types.isArrayBuffer(value) ||
    types.isBoxedPrimitive(value) ||
    types.isNativeError(value)
  )
}

/** Any failure while reading an argument (a trap, a getter, a stack overflow) becomes a typed error. */
function asUnkeyable(error: unknown, path: string): UnkeyableArgumentError {
  if (error instanceof UnkeyableArgumentError) return error
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new UnkeyableArgumentError(path, 'is nested too deeply for the call stack; pass a custom `key`')
  }
  return new UnkeyableArgumentError(
    path,
    `could not be read (${describeError(error)}); pass a custom \`key\``,
  )
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  } catch {
    return 'an unprintable error'
  }
}

/** Names a Map key in a path; an object key is not printed (its `toString` could throw or mislead). */
function describe(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key)
  if ((typeof key === 'object' && key !== null) || typeof key === 'function') return '<object>'
  return typeof key === 'bigint' ? `${key}n` : String(key)
}
