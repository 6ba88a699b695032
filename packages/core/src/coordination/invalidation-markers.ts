/**
 * How long a result-level invalidation stays visible, and what that bound asks of computations.
 *
 * Shared coordination stamps every result with its generations (`domain.function.result`). A new
 * argument has no result generation yet: on a backend with `setGuarded`, the computation picks a
 * provisional token and creates the generation *with* its result, only if the generation is still absent
 * (`SET NX`). An invalidation during the computation writes a fresh token (a marker), so the `NX` fails
 * and the late result is never accepted.
 *
 * That only holds while the marker exists. A marker cannot live forever (one per invalidated argument would
 * pile up), so the protocol fixes two numbers, the same in every process whatever its options:
 *
 * - a result-level marker lives at least {@link INVALIDATION_MARKER_MS} (longer when twice the result TTL
 *   is longer; forever when results have no TTL);
 * - a computation that stores on a provisional token must finish within
 *   {@link PROVISIONAL_STORE_WINDOW_MS} of the moment it read the generations; later, it returns its
 *   value but does not store it (a `discard` event).
 *
 * Any invalidation that happened after the read is then still visible when the computation stores: it was
 * written after the read began, and lives longer than the window. The margin between the two numbers
 * covers clock-rate differences between processes and the store's own round trip. Computations of any
 * duration are therefore safe: a slow one is simply not cached.
 */
export const INVALIDATION_MARKER_MS = 60 * 60 * 1000

/** See {@link INVALIDATION_MARKER_MS}: the longest a computation on a provisional token may take and store. */
export const PROVISIONAL_STORE_WINDOW_MS = INVALIDATION_MARKER_MS - 5 * 60 * 1000

/** The lifetime of a result-level invalidation marker for results that live `resultTtlMs`. */
export function markerTtlMs(resultTtlMs: number | undefined): number | undefined {
  return resultTtlMs === undefined ? undefined : Math.max(resultTtlMs * 2, INVALIDATION_MARKER_MS)
}

/**
 * A marker's token starts with `!` and its writing time (`!{ms in base 36}~{random}`), which a created
 * generation's never does: the background reclamation after a function or domain invalidation removes
 * created generations at once, and markers only once {@link MARKER_SWEEP_AGE_MS} old.
 */
export function markerToken(token: string, now = Date.now()): string {
  return `!${now.toString(36)}~${token}`
}

/**
 * A marker older than this (by the time it carries) protects nothing any more: every computation that
 * started before it is past the store window. The hour of margin over the window covers clocks of
 * different machines that disagree by up to an hour.
 */
export const MARKER_SWEEP_AGE_MS = 2 * INVALIDATION_MARKER_MS

/** Whether a marker token is old enough to be swept (a token without a readable time is not). */
export function isSweepableMarker(token: string, now = Date.now()): boolean {
  const end = token.indexOf('~')
  if (!token.startsWith('!') || end < 2) return false
  const writtenAt = Number.parseInt(token.slice(1, end), 36)
  return Number.isFinite(writtenAt) && now - writtenAt > MARKER_SWEEP_AGE_MS
}

export function isMarkerToken(token: string | undefined): boolean {
  return token?.startsWith('!') === true
}
