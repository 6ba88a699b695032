import { createInterface } from 'node:readline/promises'
import { CliError, ExitCode } from './exit-codes.js'
import type { Terminal } from './terminal.js'

/**
 * Asks a person before a destructive command. `--yes` skips the question. Without a terminal to ask in
 * (a script, a pipe, a cron job) and without `--yes`, the command is refused rather than run unasked:
 * scripts must say `--yes` on purpose.
 */
export async function confirm(terminal: Terminal, question: string, yes: boolean): Promise<void> {
  if (yes) return
  if (!terminal.interactiveIn) {
    throw new CliError(
      `${question.replace(/\?$/, '')}: refused, there is no terminal to confirm in. Pass --yes to run it unasked.`,
      ExitCode.aborted,
    )
  }
  const reader = createInterface({ input: process.stdin, output: process.stderr })
  try {
    // End of input (Ctrl-D) is a no, not a hang.
    const closed = new Promise<string>((resolve) => reader.once('close', () => resolve('')))
    const answer = await Promise.race([
      reader.question(`${question} ${terminal.errColor.dim('[y/N]')} `),
      closed,
    ])
    if (!/^y(es)?$/i.test(answer.trim()))
      throw new CliError('Aborted: nothing was changed.', ExitCode.aborted)
  } finally {
    reader.close()
  }
}
