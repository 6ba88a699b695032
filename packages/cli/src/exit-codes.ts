/**
 * What the `rapide` process answers, for scripts to branch on. Stable: a code never changes meaning.
 *
 * @example
 * rapide get "$URL" "$KEY" --json > entry.json; [ $? -eq 3 ] && echo 'not cached'
 */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** The store failed or could not be reached (a backend error, a timeout, a refused connection). */
  failed: 1,
  /** The command line is wrong: unknown command or option, missing argument, bad URL or URL option, a signing key too short. */
  usage: 2,
  /** `rapide get`: the key holds nothing. */
  notFound: 3,
  /** A destructive command did not run: the confirmation was declined, or there was no terminal to ask in and no `--yes`. */
  aborted: 4,
  /** The URL names a store that lives inside an application's process (`mem://`): another process cannot see it. */
  inProcessStore: 5,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** An error the command line reports as it is (no stack), with the exit code it ends the process with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message)
    this.name = 'CliError'
  }
}
