import type { Store } from '../backend/store.js'
import { InvalidOptionError } from '../errors.js'
import { checkOptions } from '../options.js'
import { parseTtl, type Ttl } from '../ttl.js'

/** The `lock` option of `cache.wrap`: `true` for the defaults. */
export type ComputationLockOption = boolean | { ttl?: Ttl; wait?: Ttl }

/** A parsed `lock` option. */
export interface ComputationLock {
  /** How long a holder keeps the lock at most (a crashed holder frees it after this). */
  readonly ttlMs: number
  /** How long a caller waits for another process's result before computing itself. */
  readonly waitMs: number
}

const DEFAULT_LOCK_TTL = '10s'
/** First pause between two looks at the cache while another process computes; doubles up to the cap. */
export const FIRST_POLL_MS = 10
export const MAX_POLL_MS = 200

/**
 * Reads the `lock` option. The lock only means something where processes share the store. An unshared
 * backend needs none (one process, and single-flight already runs one computation per key), so there it
 * is ignored. On a synchronous shared backend (SQLite, disk) a call that returns a promise waits for the
 * lock as on Redis, and a synchronous call, which cannot wait without blocking the thread, takes it only
 * if it is free (held by another process, the kept result answers if there is one, else it computes too).
 * A store without `setNx`/`deleteIfEquals` cannot lock: asking for it there is an error.
 */
export function parseComputationLock(
  option: ComputationLockOption | undefined,
  functionKey: string,
  store: Store,
): ComputationLock | undefined {
  if (option === undefined || option === false) return undefined
  if (option !== true) checkOptions(option, ['ttl', 'wait'], `wrap("${functionKey}").lock`)
  if (!store.shared) return undefined
  if (!store.hasAtomics) {
    throw new InvalidOptionError(
      `wrap("${functionKey}").lock: the "${store.name}" backend has no setNx/deleteIfEquals to lock with`,
    )
  }
  const settings = option === true ? {} : option
  const ttlMs = parseTtl(settings.ttl ?? DEFAULT_LOCK_TTL, `wrap("${functionKey}").lock.ttl`)
  const waitMs =
    settings.wait === undefined ? ttlMs : parseTtl(settings.wait, `wrap("${functionKey}").lock.wait`)
  return { ttlMs, waitMs }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
