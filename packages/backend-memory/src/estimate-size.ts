import { types } from 'node:util'
import { InvalidOptionError } from '@rapide/core'

/**
 * A method a class may define to declare the bytes its instances hold where {@link estimateSize} cannot
 * see them (`#private` fields, closures, native memory). Its result is added to what the walk counts.
 *
 * @example
 * class Tile {
 *   #pixels = new Uint8Array(1 << 20)
 *   [hiddenBytes]() { return this.#pixels.buffer.byteLength }
 * }
 */
export const hiddenBytes: unique symbol = Symbol.for('rapide.hiddenBytes')

/**
 * A conservative estimate of the bytes a value keeps alive, for `maxBytes`. It walks the value once when
 * it is stored: strings count two bytes a character, numbers eight, objects a small overhead plus every
 * own property (enumerable or not, symbol-keyed too; accessors are not called), `Map` and `Set` entries,
 * and array slots (holes included). A typed array, `DataView` or `Buffer` counts its whole underlying
 * `ArrayBuffer` — a 10-byte view of a 1 GB buffer keeps the gigabyte alive — once per distinct buffer.
 * Shared references are counted once; cycles and deep nesting are safe (no recursion).
 *
 * What JavaScript does not let anyone observe cannot be counted: `#private` fields, closures of
 * functions, the contents of `WeakMap`/`WeakSet`/promises, native handles, the parent of a sliced string.
 * A class whose instances hold memory that way declares it with a {@link hiddenBytes} method; otherwise
 * such a value is under-counted.
 *
 * `limit` stops the walk once the count exceeds it (the result is then only known to be larger), so a
 * value far over the bound costs no more to refuse than the bound itself.
 *
 * @example
 * estimateSize({ name: 'Anna' }) // ≈ 60
 * estimateSize(new Uint8Array(new ArrayBuffer(1 << 20), 0, 10)) // > 1 048 576
 */
export function estimateSize(value: unknown, seen: Set<object> = new Set(), limit = Infinity): number {
  const walk = new Walk(seen, limit)
  walk.add(value)
  while (walk.pending.length > 0 && walk.total <= limit) walk.expand(walk.pending.pop()!)
  return walk.total
}

/** One estimate: primitives are counted as they are met, objects queued (no recursion, any depth). */
class Walk {
  total = 0
  readonly pending: object[] = []

  constructor(
    private readonly seen: Set<object>,
    private readonly limit: number,
  ) {}

  add(item: unknown): void {
    switch (typeof item) {
      case 'string':
        this.total += 12 + item.length * 2
        return
      case 'number':
        this.total += 8
        return
      case 'bigint':
        this.total += 16 + Math.ceil(bitLength(item) / 8)
        return
      case 'boolean':
      case 'undefined':
        this.total += 4
        return
      case 'symbol':
        this.total += 16 + (item.description?.length ?? 0) * 2
        return
      case 'function':
      case 'object':
        if (item === null) this.total += 4
        else if (!this.seen.has(item)) {
          this.seen.add(item)
          this.pending.push(item)
        }
        return
      default:
        this.total += 16
    }
  }

  /** Counts an object's own bytes and queues what it references. */
  expand(object: object): void {
    if (typeof object === 'function') {
      // Its closure is invisible; its own properties (a static cache on a class…) are not.
      this.total += 64
      this.ownProperties(object, false)
      return
    }
    // A proxy's traps are user code that may throw or lie: count the proxy itself, not what it shows.
    if (types.isProxy(object)) {
      this.total += 64
      return
    }
    if (ArrayBuffer.isView(object)) {
      // The view keeps its whole buffer alive, however short the view (pooled Buffers included).
      this.total += 64
      this.add(object.buffer)
      return
    }
    if (types.isAnyArrayBuffer(object)) {
      this.total += 64 + object.byteLength
      return
    }
    if (object instanceof Date) {
      this.total += 32
      return
    }
    if (types.isBoxedPrimitive(object)) {
      this.total += 32
      this.add(object.valueOf())
      return
    }
    if (object instanceof RegExp) {
      this.total += 64 + object.source.length * 2
      return
    }
    this.total += 32
    if (Array.isArray(object)) {
      // Every slot costs, holes included; a huge sparse array is over the bound before it is walked.
      this.total += object.length * 8
      for (let i = 0; i < object.length && this.total <= this.limit; i++) this.add(object[i])
      this.ownProperties(object, true)
      return
    }
    if (object instanceof Map) {
      this.total += object.size * 16
      for (const [key, member] of object) {
        if (this.total > this.limit) return
        this.add(key)
        this.add(member)
      }
    } else if (object instanceof Set) {
      this.total += object.size * 8
      for (const member of object) {
        if (this.total > this.limit) return
        this.add(member)
      }
    }
    this.ownProperties(object, false)
    this.addHidden(object)
  }

  /** What the object declares it holds beyond its visible properties (see {@link hiddenBytes}). */
  private addHidden(object: object): void {
    const declare = (object as { [hiddenBytes]?: unknown })[hiddenBytes]
    if (typeof declare !== 'function') return
    const bytes: unknown = declare.call(object)
    if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
      throw new InvalidOptionError(
        `[hiddenBytes]() of ${object.constructor?.name ?? 'an object'} must return a number of bytes >= 0, got ${String(bytes)}`,
      )
    }
    this.total += Math.ceil(bytes)
  }

  /** Every own property, without calling accessors (they may throw, or compute something new). */
  private ownProperties(object: object, skipIndices: boolean): void {
    for (const key of Reflect.ownKeys(object)) {
      if (skipIndices && (key === 'length' || (typeof key === 'string' && isIndex(key)))) continue
      const descriptor = Reflect.getOwnPropertyDescriptor(object, key)
      if (descriptor === undefined) continue
      this.total += 8 + (typeof key === 'string' ? key.length * 2 : 16)
      if ('value' in descriptor) this.add(descriptor.value)
      else {
        this.add(descriptor.get)
        this.add(descriptor.set)
      }
    }
  }
}

function isIndex(key: string): boolean {
  const n = Number(key)
  return Number.isInteger(n) && n >= 0 && String(n) === key
}

function bitLength(n: bigint): number {
  return (n < 0n ? -n : n).toString(16).length * 4
}
