import { InvalidOptionError } from '../errors.js'
import { encodeArguments, encodeDelimited, encodeValue } from './encode-arguments.js'

/** How a wrapped function's calls are turned into keys. All optional; by default every argument counts. */
export interface ArgumentKeyOptions<Args extends readonly unknown[]> {
  /**
   * A custom key: its return value (any keyable value) replaces the argument list in the key.
   * @example cache.wrap('USER', getUser, { key: (user) => user.id })
   */
  key?: (...args: Args) => unknown
  /** Only these argument positions (0-based) are part of the key. */
  includeArgs?: readonly number[]
  /** These argument positions (0-based) are left out of the key, e.g. a logger or a request context. */
  excludeArgs?: readonly number[]
  /**
   * For methods: include the instance (`this`) in the key. `true` keys on the instance through its class's
   * `[cacheKey]()` (an instance without it is refused with `UnkeyableArgumentError`); a function keys on
   * what it returns (e.g. `(self) => self.tenantId`). Default: `this` is left out.
   */
  keyThis?: boolean | ((self: unknown) => unknown)
}

/** Turns a call (`this` and arguments) into the canonical argument part of a key. */
export type KeyDeriver = (self: unknown, args: readonly unknown[]) => string

/** Builds the key deriver for a wrapped function once, so the per-call path does no option checks. */
export function createKeyDeriver<Args extends readonly unknown[]>(
  functionKey: string,
  options: ArgumentKeyOptions<Args>,
): KeyDeriver {
  const { key, includeArgs, excludeArgs, keyThis } = options
  if (key !== undefined && typeof key !== 'function') {
    throw new InvalidOptionError(`wrap("${functionKey}"): \`key\` must be a function`)
  }
  if (key && (includeArgs || excludeArgs)) {
    throw new InvalidOptionError(
      `wrap("${functionKey}"): \`key\` replaces argument selection; drop includeArgs/excludeArgs`,
    )
  }
  if (includeArgs && excludeArgs) {
    throw new InvalidOptionError(`wrap("${functionKey}"): use includeArgs or excludeArgs, not both`)
  }
  for (const positions of [includeArgs, excludeArgs]) {
    if (positions && !positions.every((p) => Number.isInteger(p) && p >= 0)) {
      throw new InvalidOptionError(`wrap("${functionKey}"): argument positions must be integers >= 0`)
    }
  }

  let fromArgs: (args: readonly unknown[]) => string
  if (key) {
    fromArgs = (args) => encodeValue(key(...(args as Args)), `key(...) of "${functionKey}"`)
  } else if (includeArgs) {
    const positions = [...includeArgs]
    fromArgs = (args) => encodeArguments(positions.map((p) => args[p]))
  } else if (excludeArgs) {
    const excluded = new Set(excludeArgs)
    fromArgs = (args) => encodeArguments(args.filter((_, i) => !excluded.has(i)))
  } else {
    fromArgs = encodeArguments
  }

  if (!keyThis) return (_self, args) => fromArgs(args)
  const thisValue = keyThis === true ? (self: unknown) => self : keyThis
  // The instance part is self-delimiting, so the argument part can follow it without ambiguity.
  return (self, args) => `${encodeDelimited(thisValue(self), 'this')}|${fromArgs(args)}`
}
