/**
 * Every error rapide throws is a {@link RapideError} with a stable `code`. Codes are part of the public API:
 * match on `error.code`, not on messages.
 */
export const ErrorCodes = {
  /** A TTL or duration option is not a positive number of seconds nor a duration string. */
  INVALID_TTL: 'E_INVALID_TTL',
  /** An option passed to `createCache`, `wrap` or a backend constructor is invalid. */
  INVALID_OPTION: 'E_INVALID_OPTION',
  /** An argument cannot be turned into a key (function, symbol, cycle, promise...). */
  UNKEYABLE_ARGUMENT: 'E_UNKEYABLE_ARGUMENT',
  /** Two functions were wrapped with the same function key in one domain. */
  DUPLICATE_FUNCTION_KEY: 'E_DUPLICATE_FUNCTION_KEY',
  /** A backend operation failed (the original error is the `cause`). */
  BACKEND: 'E_BACKEND',
  /** A backend operation did not finish within the cache's `timeout`. */
  BACKEND_TIMEOUT: 'E_BACKEND_TIMEOUT',
  /** The backend lacks a capability the operation needs (for example key listing for `deletePattern`). */
  NOT_SUPPORTED: 'E_NOT_SUPPORTED',
  /** A value could not be encoded by the serializer. */
  SERIALIZATION: 'E_SERIALIZATION',
  /** `incr` was called on a key that holds something other than a counter. */
  NOT_A_COUNTER: 'E_NOT_A_COUNTER',
  /** The cache (or backend) was closed. */
  CLOSED: 'E_CLOSED',
  /** A backend does not implement a contract version this core understands. */
  INCOMPATIBLE_BACKEND: 'E_INCOMPATIBLE_BACKEND',
  /**
   * A backend cannot start: a missing or unloadable driver, or a store it cannot open (not a database,
   * corrupt, written by an unknown version). The message says what to do.
   */
  BACKEND_UNAVAILABLE: 'E_BACKEND_UNAVAILABLE',
  /**
   * A non-idempotent backend operation (`incr`, `setNx`, a lock) may or may not have been applied: the
   * connection dropped after it was sent. It is never re-sent blindly; check the state before retrying.
   */
  OUTCOME_UNKNOWN: 'E_OUTCOME_UNKNOWN',
  /** A counter would leave the range of exactly representable integers (±2^53 − 1). */
  COUNTER_OVERFLOW: 'E_COUNTER_OVERFLOW',
  /** A glob pattern is malformed (an unclosed class, a reversed range such as `[z-a]`). */
  INVALID_PATTERN: 'E_INVALID_PATTERN',
  /** A stored entry failed its integrity check (checksum, format); it is treated as a miss. */
  CORRUPT_ENTRY: 'E_CORRUPT_ENTRY',
  /**
   * A cache with `sign` read an entry whose signature does not verify (forged, moved from another key,
   * unsigned, or signed by a key it does not accept): a miss. A `CorruptEntryError` too.
   */
  BAD_SIGNATURE: 'E_BAD_SIGNATURE',
  /** A value is larger than the backend can hold (for example above the memory backend's `maxBytes`). */
  VALUE_TOO_LARGE: 'E_VALUE_TOO_LARGE',
  /** A user callback (an event listener, a hook such as `onCircuitChange`) threw or rejected. */
  CALLBACK_FAILED: 'E_CALLBACK_FAILED',
  /** A call was refused by the `rateLimit` of its wrapped function (see `retryAfterMs`). */
  RATE_LIMITED: 'E_RATE_LIMITED',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

const marker = Symbol.for('rapide.error')

/**
 * Base class of every rapide error.
 *
 * `RapideError.isInstance(e)` works across duplicated copies of the package (a marker symbol is checked,
 * not the prototype chain).
 *
 * @example
 * try { cache.wrap('A', fn); cache.wrap('A', other) }
 * catch (e) { if (RapideError.isInstance(e) && e.code === 'E_DUPLICATE_FUNCTION_KEY') ... }
 */
export class RapideError extends Error {
  readonly code: ErrorCode
  /** Lets `isInstance` recognise rapide errors from any copy of the package. */
  readonly [marker] = true

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }

  static isInstance(value: unknown): value is RapideError {
    return typeof value === 'object' && value !== null && marker in value
  }
}

/** A TTL or duration is invalid. */
export class InvalidTtlError extends RapideError {
  constructor(message: string) {
    super(ErrorCodes.INVALID_TTL, message)
  }
}

/** An option is invalid. */
export class InvalidOptionError extends RapideError {
  constructor(message: string) {
    super(ErrorCodes.INVALID_OPTION, message)
  }
}

/** An argument cannot be keyed. `path` names it, e.g. `args[1].user.callback`. */
export class UnkeyableArgumentError extends RapideError {
  readonly path: string
  constructor(path: string, reason: string) {
    super(ErrorCodes.UNKEYABLE_ARGUMENT, `Cannot derive a cache key: ${path} ${reason}`)
    this.path = path
  }
}

/** A function key is already wrapped in this domain. */
export class DuplicateFunctionKeyError extends RapideError {
  constructor(domainKey: string, functionKey: string) {
    super(
      ErrorCodes.DUPLICATE_FUNCTION_KEY,
      `Function key "${functionKey}" is already wrapped in domain "${domainKey}": two functions would share results`,
    )
  }
}

/** A backend operation failed; `operation` names it and `cause` holds the backend's error. */
export class BackendError extends RapideError {
  readonly operation: string
  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    super(ErrorCodes.BACKEND, `Backend operation "${operation}" failed: ${detail}`, { cause })
    this.operation = operation
  }
}

/** A backend operation exceeded the cache's `timeout`. */
export class BackendTimeoutError extends RapideError {
  readonly operation: string
  readonly timeoutMs: number
  constructor(operation: string, timeoutMs: number) {
    super(
      ErrorCodes.BACKEND_TIMEOUT,
      `Backend operation "${operation}" did not finish within ${timeoutMs} ms`,
    )
    this.operation = operation
    this.timeoutMs = timeoutMs
  }
}

/** The backend lacks a capability the operation needs. */
export class NotSupportedError extends RapideError {
  constructor(message: string) {
    super(ErrorCodes.NOT_SUPPORTED, message)
  }
}

/** The serializer could not encode a value. */
export class SerializationError extends RapideError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.SERIALIZATION, message, { cause })
  }
}

/** `incr` found a value that is not a counter. */
export class NotACounterError extends RapideError {
  constructor(key: string) {
    super(ErrorCodes.NOT_A_COUNTER, `Key "${key}" holds a value that is not a counter`)
  }
}

/** The cache or backend is closed. */
export class ClosedError extends RapideError {
  constructor(what: string) {
    super(ErrorCodes.CLOSED, `${what} is closed`)
  }
}

/** The backend implements a contract version this core does not understand. */
export class IncompatibleBackendError extends RapideError {
  constructor(message: string) {
    super(ErrorCodes.INCOMPATIBLE_BACKEND, message)
  }
}

/**
 * A backend cannot start. The message says what to install or do; `cause` holds the underlying error.
 *
 * @example
 * try { new SqliteBackend({ path }) }
 * catch (e) { if (RapideError.isInstance(e) && e.code === 'E_BACKEND_UNAVAILABLE') console.error(e.message) }
 */
export class BackendUnavailableError extends RapideError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.BACKEND_UNAVAILABLE, message, cause === undefined ? undefined : { cause })
  }
}

/**
 * A non-idempotent operation may or may not have been applied (the connection dropped after it was sent).
 * Nothing re-sends it: read the state before retrying.
 */
export class OutcomeUnknownError extends RapideError {
  readonly operation: string
  constructor(operation: string, cause?: unknown) {
    super(
      ErrorCodes.OUTCOME_UNKNOWN,
      `Backend operation "${operation}" may or may not have been applied: the connection was lost before it answered`,
      cause === undefined ? undefined : { cause },
    )
    this.operation = operation
  }
}

/** A counter would leave the range of exactly representable integers. */
export class CounterOverflowError extends RapideError {
  constructor(key: string) {
    super(
      ErrorCodes.COUNTER_OVERFLOW,
      `Counter "${key}" would leave the safe integer range (±${Number.MAX_SAFE_INTEGER}); it was not changed`,
    )
  }
}

/** A glob pattern is malformed. */
export class InvalidPatternError extends RapideError {
  constructor(pattern: string, reason: string) {
    super(ErrorCodes.INVALID_PATTERN, `Invalid glob pattern ${JSON.stringify(pattern)}: ${reason}`)
  }
}

/** A stored entry failed its integrity check; the cache treats it as a miss and reports this error. */
export class CorruptEntryError extends RapideError {
  constructor(reason: string) {
    super(ErrorCodes.CORRUPT_ENTRY, `Stored entry is corrupt: ${reason}`)
  }
}

/**
 * A cache with `sign` read an entry whose signature does not verify; it is a miss, reported through the
 * `error` event (operation `'decode'`). `reason`: `'unsigned'` (written by a cache without `sign`),
 * `'unknown-key'` (signed by a key neither `sign.key` nor in `sign.acceptedKeys`: a rotation step missed,
 * or a forgery), `'mismatch'` (a known key, but the entry or its storage key was changed: a forgery or an
 * entry copied to another key). `keyId` is the id the entry carries (see `signingKeyId`).
 *
 * @example
 * cache.on('error', ({ error }) => { if (error instanceof SignatureError) alert(error.reason, error.keyId) })
 */
export class SignatureError extends CorruptEntryError {
  override readonly code: ErrorCode = ErrorCodes.BAD_SIGNATURE
  constructor(
    readonly reason: 'unsigned' | 'unknown-key' | 'mismatch',
    readonly keyId?: string,
  ) {
    super(
      reason === 'unsigned'
        ? 'it is not signed, and this cache verifies signatures'
        : reason === 'unknown-key'
          ? `it is signed by key ${keyId}, which is neither sign.key nor in sign.acceptedKeys`
          : `its signature (key ${keyId}) does not match its content and storage key`,
    )
  }
}

/** A value is larger than the backend can hold. */
export class ValueTooLargeError extends RapideError {
  constructor(message: string) {
    super(ErrorCodes.VALUE_TOO_LARGE, message)
  }
}

/** A user callback threw or rejected; `where` names it (e.g. `"hit" listener`, `onCircuitChange`). */
export class CallbackError extends RapideError {
  readonly where: string
  constructor(where: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    super(ErrorCodes.CALLBACK_FAILED, `${where} failed: ${detail}`, { cause })
    this.where = where
  }
}

/**
 * A call of a wrapped function was over its `rateLimit`: at most `limit` calls per period for the same
 * arguments. `retryAfterMs` says when the current period ends.
 *
 * @example
 * try { await search(q) } catch (e) { if (e instanceof RateLimitError) res.setHeader('Retry-After', Math.ceil(e.retryAfterMs / 1000)) }
 */
export class RateLimitError extends RapideError {
  constructor(
    readonly functionKey: string,
    readonly limit: number,
    readonly retryAfterMs: number,
  ) {
    super(
      ErrorCodes.RATE_LIMITED,
      `"${functionKey}" was called more than ${limit} times in its rate-limit period with these arguments; retry in ${Math.ceil(retryAfterMs)} ms`,
    )
  }
}
