import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** The Redis the benchmark runs against: `REDIS_URL`, or a `redis-server` of its own on a free loopback port. */
export interface BenchRedis {
  readonly url: string
  stop(): Promise<void>
}

export async function benchRedis(): Promise<BenchRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} }
  const port = await freePort()
  let child: ChildProcess
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
  } catch (error) {
    throw new Error(
      `The Redis benchmark needs redis-server (apt-get install redis-server) or REDIS_URL: ${error}`,
    )
  }
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(
          `The Redis benchmark needs redis-server (apt-get install redis-server) or REDIS_URL: ${error.message}`,
        ),
      ),
    )
  })
  const url = `redis://127.0.0.1:${port}`
  await Promise.race([waitForPing(url), failed])
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill()
      await exited
    },
  }
}

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not start`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      client.disconnect()
    }
  }
}

function freePort(): Promise<number> {
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
