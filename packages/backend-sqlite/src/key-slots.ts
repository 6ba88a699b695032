/**
 * Where a key is stored: a row has two slots, and a key is one slot of one row.
 *
 * A miss on a new argument writes a result and its result generation (`setGuarded`), and every row
 * write costs about as much as a raw client's whole miss. So a result generation is stored in the
 * *guard slot* of its result's row: one row per miss, written by one statement, and read back by the
 * same primary-key probe as the result. Every other key is the *main slot* of a row of its own name.
 *
 * The pairing follows rapide's key layout (see "Key layout" in the core README): under a namespace
 * `{prefix}|{domain}:` (the prefix escapes `|`, the domain escapes `:`), a result is `r:{group}` and its
 * generation `g:{group}`. Only speed depends on it: the mapping is a bijection over *all* strings (a
 * key of the form `…|…:g:{…` goes to the guard slot of the same key with `r`, any other key to the main
 * slot of its own row), so any key, whoever wrote it, has exactly one place, and a backend fed keys of
 * another layout just stores every key in a main slot.
 */
export const Slot = { Main: 0, Guard: 1 } as const
export type Slot = (typeof Slot)[keyof typeof Slot]

export interface Location {
  /** The primary key of the row. */
  readonly row: string
  readonly slot: Slot
}

/** The namespace (`…|…:`), then the layout letter, then the rest (which starts with `:{` for a pair). */
const GENERATION = /^([^|]*\|[^:]*:)g(:\{[\s\S]*)$/
const RESULT = /^([^|]*\|[^:]*:)r(:\{[\s\S]*)$/
/** A prefix long enough to fix the layout letter (and the letter it has). */
const PAST_LETTER = /^([^|]*\|[^:]*:)([\s\S])([\s\S]*)$/

export function locate(key: string): Location {
  const match = GENERATION.exec(key)
  return match === null ? { row: key, slot: Slot.Main } : { row: `${match[1]}r${match[2]}`, slot: Slot.Guard }
}

/** The key a row's guard slot holds (a row with a guard slot is always named like a result). */
export function guardKeyOf(row: string): string {
  const match = RESULT.exec(row)
  return match === null ? row : `${match[1]}g${match[2]}`
}

/**
 * The rows whose guard slot holds a key that starts with `prefix`: exactly the rows whose name starts
 * with the returned prefix (and that have a guard slot), or none (`undefined`). A prefix that stops
 * before the layout letter selects the same rows as it does for main slots; one that fixes the letter
 * selects guard keys only if the letter is `g`, under the name with `r`.
 */
export function guardRowPrefix(prefix: string): string | undefined {
  const match = PAST_LETTER.exec(prefix)
  if (match === null) return prefix
  if (match[2] !== 'g') return undefined
  const rest = match[3]!
  // Guard rows are named `…r:{…`: a prefix going on with anything else names none of them.
  if (!':{'.startsWith(rest.slice(0, 2))) return undefined
  return `${match[1]}r${rest}`
}
