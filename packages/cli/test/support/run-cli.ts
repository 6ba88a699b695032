import { spawn } from 'node:child_process'
import { join } from 'node:path'

export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin.js')

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `node dist/bin.js …` as a script would: pipes for stdin, stdout and stderr (no terminal), colours
 * off unless the test asks. `input` is written to stdin, which is then closed.
 */
export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      // Signing keys only when a test passes them: a developer's shell may have its own.
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        RAPIDE_SIGN_KEY: undefined,
        RAPIDE_ACCEPT_KEYS: undefined,
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

/** Parses the JSON a `--json` command printed, failing the test with the output when it is not JSON. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
}
