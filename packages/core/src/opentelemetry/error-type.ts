/**
 * The `error.type` of a failure, low-cardinality as the convention asks: an error's string `code`
 * (every rapide error has one, as do Node's system errors), else its class name, else `_OTHER` (the
 * convention's value when nothing better is known, e.g. a thrown string).
 */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code } = error as { code?: unknown }
    if (typeof code === 'string' && code !== '') return code
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name
    if (typeof name === 'string' && name !== '' && name !== 'Object') return name
  }
  return '_OTHER'
}
