/**
 * A cheap estimate of the bytes a value holds, for `maxBytes`. It walks the value once when stored,
 * counts strings as UTF-16, numbers as 8 bytes, buffers by length, and a small overhead per object.
 * Shared references are counted once; cycles are safe.
 */
export function estimateSize(value: unknown, seen: Set<object> = new Set()): number {
  switch (typeof value) {
    case 'string':
      return 12 + value.length * 2
    case 'number':
    case 'bigint':
      return 8
    case 'boolean':
    case 'undefined':
      return 4
    case 'object': {
      if (value === null) return 4
      if (seen.has(value)) return 0
      seen.add(value)
      if (ArrayBuffer.isView(value)) return 64 + value.byteLength
      if (value instanceof ArrayBuffer) return 64 + value.byteLength
      if (value instanceof Date) return 32
      let total = 32
      if (value instanceof Map) {
        for (const [k, v] of value) total += estimateSize(k, seen) + estimateSize(v, seen)
      } else if (value instanceof Set) {
        for (const member of value) total += estimateSize(member, seen)
      } else if (Array.isArray(value)) {
        for (const item of value) total += 8 + estimateSize(item, seen)
      } else {
        for (const key of Object.keys(value)) {
          total += key.length * 2 + estimateSize((value as Record<string, unknown>)[key], seen)
        }
      }
      return total
    }
    default:
      return 16
  }
}
