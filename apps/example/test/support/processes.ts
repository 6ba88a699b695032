import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort } from '@rapide/backend-redis/testing'

export const exampleRoot = join(import.meta.dirname, '..', '..')

/** Starts the built service (`dist/serve.js`) and resolves once it listens. */
export async function startService(
  env: Record<string, string>,
): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn(process.execPath, [join(exampleRoot, 'dist', 'serve.js')], {
    cwd: exampleRoot,
    env: {
      ...process.env,
      REDIS_URL: '',
      RAPIDE_URL: '',
      CACHE_SIGNING_KEY: '',
      // As `node` starts it, not pnpm (whose NODE_PATH finds any workspace package): the backend that
      // RAPIDE_URL names must resolve from the service's own dependencies.
      NODE_PATH: '',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`the service exited: ${output}`)
    return output.includes('listening on')
  }, 'the service')
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop: () => stop(child) }
}

async function waitFor(ready: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not start in time`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}
