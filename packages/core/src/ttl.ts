import { InvalidTtlError } from './errors.js'

/**
 * A time to live: a number of seconds (fractions allowed) or a duration string such as
 * `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'2d'`.
 */
export type Ttl = number | `${number}${DurationUnit}`
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

const unitMs: Record<DurationUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/

/** The longest TTL accepted: beyond it `setTimeout`-style arithmetic and some backends misbehave. */
const MAX_TTL_MS = 365 * 86_400_000 * 100

/**
 * Converts a {@link Ttl} into milliseconds, throwing {@link InvalidTtlError} for anything that is not
 * a finite positive duration. `what` names the option in the message.
 *
 * @example parseTtl('5m', 'defaultTtl') // 300000
 */
export function parseTtl(ttl: unknown, what: string): number {
  let ms: number
  if (typeof ttl === 'number') {
    ms = ttl * 1000
  } else if (typeof ttl === 'string') {
    const match = durationPattern.exec(ttl.trim())
    if (!match) {
      throw new InvalidTtlError(
        `${what}: "${ttl}" is not a duration; use seconds (a number) or a string like '500ms', '30s', '5m', '1h', '2d'`,
      )
    }
    ms = Number(match[1]) * unitMs[match[2] as DurationUnit]
  } else {
    throw new InvalidTtlError(`${what}: expected a number of seconds or a duration string, got ${typeof ttl}`)
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new InvalidTtlError(`${what}: ${String(ttl)} must be a positive, finite duration`)
  }
  if (ms > MAX_TTL_MS) throw new InvalidTtlError(`${what}: ${String(ttl)} is longer than 100 years`)
  // Backends store whole milliseconds; anything positive keeps at least one.
  return Math.max(1, Math.round(ms))
}

/** Like {@link parseTtl} but `undefined` (no expiry) passes through. */
export function parseOptionalTtl(ttl: unknown, what: string): number | undefined {
  return ttl === undefined ? undefined : parseTtl(ttl, what)
}
