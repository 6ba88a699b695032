import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'

export const exampleRoot = join(import.meta.dirname, '..', '..')

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

export function redisServerAvailable(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Starts `redis-server` on a free loopback port, without persistence. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  await waitFor(async () => {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }, `redis-server on port ${port}`)
  return { url: `redis://127.0.0.1:${port}`, stop: () => stop(child) }
}

/** Starts the built service (`dist/serve.js`) and resolves once it listens. */
export async function startService(
  env: Record<string, string>,
): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn(process.execPath, [join(exampleRoot, 'dist', 'serve.js')], {
    cwd: exampleRoot,
    env: { ...process.env, REDIS_URL: '', ...env, PORT: String(port), HOST: '127.0.0.1' },
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
