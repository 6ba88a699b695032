/**
 * The exclusive upper bound of the keys that start with `prefix`, so a prefix query is an index range
 * (`key >= prefix AND key < end`) instead of a scan. SQLite compares TEXT as UTF-8 bytes, which orders
 * like code points, so the bound is the prefix with its last code point replaced by the next one.
 * `undefined` means no upper bound (empty prefix, or a prefix made only of U+10FFFF).
 *
 * @example prefixEnd('app:r:') // 'app:r;'
 */
export function prefixEnd(prefix: string): string | undefined {
  const codePoints = Array.from(prefix)
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!
    if (last < 0x10ffff) {
      // The surrogate range has no UTF-8 form: after U+D7FF comes U+E000.
      const next = last === 0xd7ff ? 0xe000 : last + 1
      return codePoints.join('') + String.fromCodePoint(next)
    }
  }
  return undefined
}
