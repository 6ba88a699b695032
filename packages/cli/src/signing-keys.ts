import { RapideError, type SignOptions, signingKeyId } from '@rapide/core'
import { CliError, ExitCode } from './exit-codes.js'

/** The signing keys given on the command line: `--sign-key` (or `RAPIDE_SIGN_KEY`) and `--accept-key`s. */
export interface SigningKeyOptions {
  /** The key the app signs with, as the app passes it to `sign: { key }` (a string: its UTF-8 bytes). */
  readonly signKey?: string
  /** Keys the app also accepts (`sign.acceptedKeys`); repeatable, or `RAPIDE_ACCEPT_KEYS` split at commas. */
  readonly acceptKey?: readonly string[]
}

/** The keys to verify with, as a cache's `sign` option, and the id of each (what an entry names). */
export interface SigningKeys {
  readonly sign: SignOptions
  /** Key id (8 hex digits) → where it came from: `--sign-key` or `--accept-key #n`. */
  readonly origins: ReadonlyMap<string, string>
}

/**
 * Checks the keys and builds the `sign` option `describeEntry` verifies with; `undefined` without
 * `--sign-key`. A key that is too short is a usage error (exit 2) that never quotes the key.
 */
export function signingKeysOf(options: SigningKeyOptions): SigningKeys | undefined {
  const accepted = options.acceptKey ?? []
  if (options.signKey === undefined) {
    if (accepted.length > 0) {
      throw new CliError(
        '--accept-key needs --sign-key (or RAPIDE_SIGN_KEY): the key the app signs with',
        ExitCode.usage,
      )
    }
    return undefined
  }
  const origins = new Map<string, string>()
  origins.set(idOf(options.signKey, '--sign-key (or RAPIDE_SIGN_KEY)'), '--sign-key')
  accepted.forEach((key, i) => {
    const what = accepted.length === 1 ? '--accept-key' : `--accept-key #${i + 1}`
    const id = idOf(key, what)
    if (!origins.has(id)) origins.set(id, what)
  })
  return { sign: { key: options.signKey, acceptedKeys: accepted }, origins }
}

function idOf(key: string, what: string): string {
  try {
    return signingKeyId(key)
  } catch (error) {
    if (!RapideError.isInstance(error)) throw error
    // Never the key itself: only its length, which says it is not the app's whole key.
    const length = /has (\d+) bytes/.exec(error.message)?.[1]
    throw new CliError(
      length === undefined
        ? `${what}: ${error.message}`
        : `${what} has ${length} bytes; a signing key has at least 32: pass the app's whole key, as its sign.key option gets it`,
      ExitCode.usage,
    )
  }
}

/**
 * The accepted keys: the `--accept-key`s given, else `RAPIDE_ACCEPT_KEYS` split at commas (base64 and hex
 * keys hold none; a key that does is given with `--accept-key`, which takes it whole).
 */
export function acceptedKeysFrom(
  given: readonly string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  if (given !== undefined && given.length > 0) return [...given]
  return (env.RAPIDE_ACCEPT_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '')
}
