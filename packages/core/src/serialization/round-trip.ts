import { types } from 'node:util'
import { SerializationError } from '../errors.js'

/**
 * The checks that make the serializers refuse, rather than silently change, a value they would not give
 * back as it was. Each walk is one pass over the value, run only when a value is stored (the miss path,
 * never on a hit): nothing for a primitive, and per object its key lists (which V8 serves from the
 * object's shape for plain data) and one entry in the set of objects met, which bounds the walk on shared
 * references and cycles. The path to the offending spot (`value.items[3].owner`) is built only when
 * something is refused.
 */

/** A refusal on its way up the walk; each level adds its segment, the top turns it into an error. */
class Refusal {
  /** Segments from the offending spot up to the root (reversed when the message is built). */
  readonly segments: string[] = []
  constructor(readonly reason: string) {}
}

/** Adds `segment` to a refusal passing through; other errors (a stack overflow) pass untouched. */
function through(error: unknown, segment: string): unknown {
  if (error instanceof Refusal) error.segments.push(segment)
  return error
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function propertySegment(key: PropertyKey): string {
  if (typeof key === 'number') return `[${key}]`
  if (typeof key === 'symbol') return `[${String(key)}]`
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function indexOrPropertySegment(key: string): string {
  return /^(?:0|[1-9]\d*)$/.test(key) ? `[${key}]` : propertySegment(key)
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key)
  if (typeof key === 'bigint') return `${key}n`
  if (typeof key === 'number' || typeof key === 'boolean' || key === undefined || key === null) {
    return Object.is(key, -0) ? '-0' : String(key)
  }
  return ''
}

function mapEntrySegment(key: unknown, index: number, part: 'key' | 'value'): string {
  const described = describeKey(key)
  return part === 'value' && described !== '' ? `.get(${described})` : `.<entry ${index}>.${part}`
}

/** Refuses the property `key` of the object being walked. */
function refuseProperty(key: PropertyKey, reason: string): never {
  const refusal = new Refusal(reason)
  refusal.segments.push(propertySegment(key))
  throw refusal
}

/** Runs a walk and turns its refusal into a {@link SerializationError} naming the path. */
function runCheck(serializerName: string, walk: () => void): void {
  try {
    walk()
  } catch (error) {
    if (error instanceof Refusal) {
      const path = `value${error.segments.reverse().join('')}`
      throw new SerializationError(`${serializerName} cannot store ${path}: ${error.reason}`)
    }
    if (error instanceof RangeError) {
      throw new SerializationError(`${serializerName} cannot store the value: it is too deeply nested`, error)
    }
    throw new SerializationError(
      `${serializerName} cannot store the value: ${error instanceof Error ? error.message : String(error)}`,
      error,
    )
  }
}

// ---- shared pieces --------------------------------------------------------------------------------

const OBJECT_PROTOTYPE = Object.prototype
const ARRAY_PROTOTYPE = Array.prototype
const { getPrototypeOf, getOwnPropertyNames, getOwnPropertySymbols, keys: objectKeys } = Object
const { isProxy } = types
const isEnumerable = Object.prototype.propertyIsEnumerable
/** Annex B lookups: the only way to spot an accessor without allocating a descriptor per property. */
const legacy = Object.prototype as unknown as {
  __lookupGetter__(this: object, key: PropertyKey): unknown
  __lookupSetter__(this: object, key: PropertyKey): unknown
}
const lookupGetter = legacy.__lookupGetter__
const lookupSetter = legacy.__lookupSetter__

function isAccessor(object: object, key: string): boolean {
  return lookupGetter.call(object, key) !== undefined || lookupSetter.call(object, key) !== undefined
}

const ACCESSOR_REASON =
  'it is an accessor (get/set); it would be stored as its current value and come back as a plain data property. Store plain data instead'

/**
 * Checks the own properties of a plain object and returns its enumerable string keys, or refuses a
 * symbol-keyed, non-enumerable or accessor property (both serializers drop the first two and turn the
 * third into a data property holding its current value).
 */
function plainKeys(object: object, serializerName: string): string[] {
  const keys = objectKeys(object)
  const symbols = getOwnPropertySymbols(object)
  if (symbols.length > 0) {
    refuseProperty(
      symbols[0]!,
      `it is a symbol-keyed property, which ${serializerName} does not store. Use a string key`,
    )
  }
  const names = getOwnPropertyNames(object)
  if (names.length !== keys.length) {
    for (const name of names) {
      if (!isEnumerable.call(object, name)) {
        refuseProperty(
          name,
          `it is a non-enumerable property, which ${serializerName} does not store. Make it enumerable or leave it out`,
        )
      }
    }
  }
  for (let i = 0; i < keys.length; i++) {
    if (isAccessor(object, keys[i]!)) refuseProperty(keys[i]!, ACCESSOR_REASON)
  }
  return keys
}

function className(value: object): string {
  const proto = getPrototypeOf(value) as { constructor?: { name?: unknown } } | null
  const name = proto?.constructor?.name
  return typeof name === 'string' && name !== '' ? name : 'an anonymous class'
}

function classRefusal(value: object, serializerName: string): Refusal {
  return new Refusal(
    `it is an instance of ${className(value)}, which ${serializerName} would give back as a plain object (its class and methods lost). Store plain data (for example the fields the caller needs), or use a serializer that knows the class`,
  )
}

// ---- the v8 serializer ----------------------------------------------------------------------------

const V8 = 'v8Serializer'

/** Refuses a property added to a built-in object: the structured-clone format keeps only its contents. */
function refuseAdded(key: PropertyKey, what: string): never {
  refuseProperty(
    key,
    `it is a property added to a ${what}, which ${V8} does not store (it keeps only the ${what}'s contents)`,
  )
}

function noOwnProperties(value: object, what: string): void {
  const keys = Reflect.ownKeys(value)
  if (keys.length > 0) refuseAdded(keys[0]!, what)
}

const ERROR_PROTOTYPES = new Set<object>([
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
])

const VIEW_PROTOTYPES = new Set<object>([
  Int8Array.prototype,
  Uint8Array.prototype,
  Uint8ClampedArray.prototype,
  Int16Array.prototype,
  Uint16Array.prototype,
  Int32Array.prototype,
  Uint32Array.prototype,
  Float32Array.prototype,
  Float64Array.prototype,
  BigInt64Array.prototype,
  BigUint64Array.prototype,
  DataView.prototype,
  Buffer.prototype,
])

/** A built-in the structured-clone format gives back with its class; checks its extra state. */
type BuiltinCheck = (value: object, seen: Set<object>) => boolean

/** A built-in whose whole state is its contents: any own property is an addition the format drops. */
function contentsOnly(is: (value: object) => boolean, what: string): BuiltinCheck {
  return (value) => {
    if (!is(value)) return false
    noOwnProperties(value, what)
    return true
  }
}

const V8_BUILTINS = new Map<object, BuiltinCheck>([
  [Date.prototype, contentsOnly(types.isDate, 'Date')],
  [
    RegExp.prototype,
    (v) => {
      if (!types.isRegExp(v)) return false
      if ((v as RegExp).lastIndex !== 0) {
        refuseProperty('lastIndex', `it is not 0, and ${V8} does not store a RegExp's lastIndex`)
      }
      const added = Reflect.ownKeys(v).find((key) => key !== 'lastIndex')
      if (added !== undefined) refuseAdded(added, 'RegExp')
      return true
    },
  ],
  [
    Map.prototype,
    (v, seen) => {
      if (!types.isMap(v)) return false
      noOwnProperties(v, 'Map')
      let index = 0
      for (const [key, value] of v as Map<unknown, unknown>) {
        try {
          visitV8(key, seen)
        } catch (error) {
          throw through(error, mapEntrySegment(key, index, 'key'))
        }
        try {
          visitV8(value, seen)
        } catch (error) {
          throw through(error, mapEntrySegment(key, index, 'value'))
        }
        index++
      }
      return true
    },
  ],
  [
    Set.prototype,
    (v, seen) => {
      if (!types.isSet(v)) return false
      noOwnProperties(v, 'Set')
      let index = 0
      for (const element of v as Set<unknown>) {
        try {
          visitV8(element, seen)
        } catch (error) {
          throw through(error, `.<element ${index}>`)
        }
        index++
      }
      return true
    },
  ],
  [ArrayBuffer.prototype, contentsOnly(types.isArrayBuffer, 'ArrayBuffer')],
  [Number.prototype, contentsOnly(types.isNumberObject, 'Number object')],
  [Boolean.prototype, contentsOnly(types.isBooleanObject, 'Boolean object')],
  [BigInt.prototype, contentsOnly(types.isBigIntObject, 'BigInt object')],
  [
    String.prototype,
    (v) => {
      if (!types.isStringObject(v)) return false
      // Its own keys are its indices and `length`; anything more is an added property.
      const length = (v as string).length
      const keys = Reflect.ownKeys(v)
      if (keys.length !== length + 1) {
        const isOwnIndex = (key: PropertyKey) =>
          key === 'length' ||
          (typeof key === 'string' && /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < length)
        refuseAdded(keys.find((key) => !isOwnIndex(key))!, 'String object')
      }
      return true
    },
  ],
])

function checkV8Error(error: object, seen: Set<object>): void {
  for (const key of Reflect.ownKeys(error)) {
    if (key === 'stack' || key === 'message') {
      if (typeof (error as Record<string, unknown>)[key] !== 'string') {
        refuseProperty(key, `it is not a string, which ${V8} does not store for an error's ${key}`)
      }
    } else if (key === 'cause') {
      try {
        visitV8((error as { cause: unknown }).cause, seen)
      } catch (failure) {
        throw through(failure, '.cause')
      }
    } else {
      refuseProperty(
        key,
        `it is a property of an error, which ${V8} does not store (it keeps an error's class, message, stack and cause). Put the details in \`cause\` or return plain data`,
      )
    }
  }
}

function visitV8(value: unknown, seen: Set<object>): void {
  if (typeof value !== 'object') {
    if (typeof value === 'function') {
      throw new Refusal(`it is a function, which ${V8} cannot store`)
    }
    if (typeof value === 'symbol') throw new Refusal(`it is a symbol, which ${V8} cannot store`)
    return
  }
  // A shared reference or a cycle: the format keeps both, and the object was checked when first met.
  if (value === null || seen.has(value)) return
  seen.add(value)
  if (isProxy(value)) throw new Refusal(`it is a Proxy, which ${V8} cannot store`)
  const proto = getPrototypeOf(value) as object | null
  if (proto === OBJECT_PROTOTYPE || proto === null) {
    const keys = plainKeys(value, V8)
    for (let i = 0; i < keys.length; i++) {
      try {
        visitV8((value as Record<string, unknown>)[keys[i]!], seen)
      } catch (error) {
        throw through(error, propertySegment(keys[i]!))
      }
    }
    return
  }
  if (proto === ARRAY_PROTOTYPE && Array.isArray(value)) {
    visitV8Array(value, seen)
    return
  }
  if (ERROR_PROTOTYPES.has(proto) && types.isNativeError(value)) {
    checkV8Error(value, seen)
    return
  }
  if (VIEW_PROTOTYPES.has(proto) && types.isArrayBufferView(value)) {
    if (types.isSharedArrayBuffer(value.buffer)) {
      throw new Refusal(`it is a view of a SharedArrayBuffer, which ${V8} would give back unshared`)
    }
    // Named properties are not checked: listing a view's keys lists every index (a pass per byte).
    const symbols = getOwnPropertySymbols(value)
    if (symbols.length > 0) refuseAdded(symbols[0]!, className(value))
    return
  }
  const builtin = V8_BUILTINS.get(proto)
  if (builtin?.(value, seen)) return
  throw classRefusal(value, V8)
}

function visitV8Array(array: unknown[], seen: Set<object>): void {
  const symbols = getOwnPropertySymbols(array)
  if (symbols.length > 0) {
    refuseProperty(symbols[0]!, `it is a symbol-keyed property of an array, which ${V8} does not store`)
  }
  const keys = objectKeys(array)
  const length = array.length
  if (keys.length === length) {
    // No named property unless there are as many holes: walk by index, the cheap path.
    let i = 0
    for (; i < length; i++) {
      const element = array[i]
      if (element === undefined && !(i in array)) break
      if (typeof element === 'object' || typeof element === 'function' || typeof element === 'symbol') {
        try {
          visitV8(element, seen)
        } catch (error) {
          throw through(error, `[${i}]`)
        }
      }
    }
    if (i === length) return
  }
  // Holes (kept by the format) or named properties (kept too, so checked): walk by key, which is bounded
  // by what the array holds, not by its length (a sparse array of length 3e7 holds a few elements).
  for (const key of keys) {
    try {
      visitV8((array as unknown as Record<string, unknown>)[key], seen)
    } catch (error) {
      throw through(error, indexOrPropertySegment(key))
    }
  }
}

/**
 * Throws a {@link SerializationError} naming the path if `value` holds anything the structured-clone
 * format would give back changed (see {@link v8Serializer} for the list).
 */
export function checkV8RoundTrip(value: unknown): void {
  // A primitive needs no walk (nor the set of objects met).
  if (typeof value === 'object' ? value === null : typeof value !== 'function' && typeof value !== 'symbol') {
    return
  }
  runCheck(V8, () => visitV8(value, new Set()))
}

// ---- the JSON serializer --------------------------------------------------------------------------

const JSON_NAME = 'jsonSerializer'

/** Why JSON would change a non-plain object, in the user's terms. */
function jsonObjectRefusal(value: object): Refusal {
  if (types.isDate(value)) return new Refusal('it is a Date, which JSON stores as a string')
  if (types.isMap(value) || types.isSet(value)) {
    return new Refusal(`it is a ${className(value)}, which JSON stores as {}`)
  }
  if (types.isBoxedPrimitive(value)) {
    return new Refusal(`it is a boxed ${className(value)} object, which JSON stores as its primitive`)
  }
  if (types.isArrayBufferView(value) || types.isAnyArrayBuffer(value)) {
    return new Refusal(`it is a ${className(value)}, which JSON cannot round-trip`)
  }
  if (types.isNativeError(value)) {
    return new Refusal(`it is a ${className(value)}, which JSON stores as {}`)
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return new Refusal(
      `it is a ${className(value)} with a toJSON method: JSON would store toJSON's output, which comes back as a different value`,
    )
  }
  return classRefusal(value, JSON_NAME)
}

function visitJson(value: unknown, state: Map<object, boolean>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal(`it is ${value}, which JSON stores as null`)
      if (value === 0 && 1 / value < 0) throw new Refusal('it is -0, which JSON stores as 0')
      return
    case 'object':
      break
    case 'undefined':
      throw new Refusal(
        'it is undefined, which JSON leaves out (in an object) or stores as null (in an array)',
      )
    case 'bigint':
      throw new Refusal('it is a BigInt, which JSON cannot store')
    default:
      throw new Refusal(`it is a ${typeof value}, which JSON cannot store`)
  }
  if (value === null) return
  // `state`: false while the object is being walked (meeting it again is a cycle), true once checked (a
  // shared reference, which JSON writes as a copy: checked once, so a DAG costs no more than its size).
  const known = state.get(value)
  if (known === true) return
  if (known === false) throw new Refusal('it is a cycle (it contains itself), which JSON cannot store')
  state.set(value, false)
  if (isProxy(value)) throw new Refusal('it is a Proxy, which JSON would store as a plain copy')
  const proto = getPrototypeOf(value) as object | null
  if (proto === OBJECT_PROTOTYPE || proto === null) {
    const keys = plainKeys(value, JSON_NAME)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const child = (value as Record<string, unknown>)[key]
      try {
        if (key === 'toJSON' && typeof child === 'function') {
          throw new Refusal('it is a toJSON method: JSON would store its output instead of the object')
        }
        visitJson(child, state)
      } catch (error) {
        throw through(error, propertySegment(key))
      }
    }
  } else if (proto === ARRAY_PROTOTYPE && Array.isArray(value)) {
    visitJsonArray(value, state)
  } else {
    throw jsonObjectRefusal(value)
  }
  state.set(value, true)
}

function visitJsonArray(array: unknown[], state: Map<object, boolean>): void {
  const symbols = getOwnPropertySymbols(array)
  if (symbols.length > 0) {
    refuseProperty(symbols[0]!, 'it is a symbol-keyed property of an array, which JSON does not store')
  }
  const length = array.length
  const keys = objectKeys(array)
  if (keys.length > length) {
    // More keys than slots: a named property (JSON stores only the elements). Find it for the path.
    const named = keys.find((key) => !/^(?:0|[1-9]\d*)$/.test(key)) ?? keys[length]!
    refuseProperty(named, 'it is a named property of an array, which JSON does not store')
  }
  for (let i = 0; i < length; i++) {
    const element = array[i]
    if (element === undefined && !(i in array)) {
      refuseProperty(i, 'it is a hole (an empty slot), which JSON stores as null')
    }
    try {
      visitJson(element, state)
    } catch (error) {
      throw through(error, `[${i}]`)
    }
  }
  // Here every slot holds an element, so the keys are exactly the indices when their counts agree; a
  // named property would have made them differ (holes were refused above).
}

/**
 * Throws a {@link SerializationError} naming the path if `value` holds anything JSON would give back
 * changed (see {@link jsonSerializer} for the list).
 */
export function checkJsonRoundTrip(value: unknown): void {
  runCheck(JSON_NAME, () => visitJson(value, new Map()))
}
