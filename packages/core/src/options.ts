import { InvalidOptionError } from './errors.js'

/**
 * Refuses an options object with a key that is not in `allowed`, naming it, so a misspelt option
 * (`tll`) or one that does not exist is an error instead of being silently ignored. `undefined` and
 * `null` options pass (every option is optional); anything else that is not an object is refused.
 *
 * Backend authors use it in their constructors too.
 *
 * @example
 * checkOptions(options, ['maxEntries', 'maxBytes'], 'new MemoryBackend()')
 */
export function checkOptions(options: unknown, allowed: readonly string[], where: string): void {
  if (options === undefined || options === null) return
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(`${where}: options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const near = allowed.find((name) => closeTo(name, key))
      throw new InvalidOptionError(
        `${where}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean "${near}"?)` : ''}; known options: ${allowed.join(', ')}`,
      )
    }
  }
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'an array' : typeof value
}

/** Names one edit apart (a typo), case-insensitively. */
function closeTo(a: string, b: string): boolean {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  if (x === y) return true
  if (Math.abs(x.length - y.length) > 1) return false
  let i = 0
  while (i < x.length && i < y.length && x[i] === y[i]) i++
  const rest = (s: string, skip: number) => s.slice(i + skip)
  return (
    rest(x, 1) === rest(y, 1) ||
    rest(x, 1) === rest(y, 0) ||
    rest(x, 0) === rest(y, 1) ||
    (x[i] === y[i + 1] && x[i + 1] === y[i] && rest(x, 2) === rest(y, 2))
  )
}
