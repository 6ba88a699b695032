import { createColors } from 'picocolors'

type Colors = ReturnType<typeof createColors>

/**
 * Whether to colour what goes to a stream: only a terminal gets escape codes (a pipe or a file stays plain
 * text for `grep` and scripts), `NO_COLOR` (https://no-color.org) turns them off, `FORCE_COLOR` on, and a
 * `dumb` terminal gets none.
 */
export function colorsFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true
  return stream.isTTY === true && env.TERM !== 'dumb'
}

/** Where a command writes: results to stdout, progress and prompts to stderr, each coloured only on a terminal. */
export interface Terminal {
  /** Writes a line of results to stdout. */
  out(line: string): void
  /** Writes a line of diagnostics to stderr. */
  err(line: string): void
  /** Colours for stdout. */
  readonly color: Colors
  /** Colours for stderr. */
  readonly errColor: Colors
  /** stderr is a terminal: a progress line can be redrawn in place. */
  readonly interactiveErr: boolean
  /** stdin is a terminal: a person can answer a prompt. */
  readonly interactiveIn: boolean
}

export function processTerminal(): Terminal {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color: createColors(colorsFor(process.stdout)),
    errColor: createColors(colorsFor(process.stderr)),
    interactiveErr: process.stderr.isTTY === true,
    interactiveIn: process.stdin.isTTY === true,
  }
}
