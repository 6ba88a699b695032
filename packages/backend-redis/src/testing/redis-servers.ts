import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

const run = promisify(execFile)

/** Whether `redis-server` and `redis-cli` are on the PATH. */
export async function redisBinariesAvailable(): Promise<boolean> {
  try {
    await run('redis-server', ['--version'])
    await run('redis-cli', ['--version'])
    return true
  } catch {
    return false
  }
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/** One `redis-server` process on loopback, with no persistence, in its own temporary folder. */
export class RedisServer {
  private process: ChildProcess | undefined
  private readonly dir: string

  private constructor(
    readonly port: number,
    private readonly clusterPort: number | undefined,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `rapide-redis-${port}-`))
  }

  /**
   * Starts a server on `port` (default: a free one) and resolves once it answers PING.
   * `cluster: true` starts it as a cluster node (see {@link RedisCluster}).
   */
  static async start(options: { cluster?: boolean; port?: number } = {}): Promise<RedisServer> {
    const port = options.port ?? (await freePort())
    const server = new RedisServer(port, options.cluster ? await freePort() : undefined)
    await server.launch()
    return server
  }

  /** `redis://127.0.0.1:{port}`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Whether the process is alive (not exited, not killed). */
  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null
  }

  /** Starts (or restarts, on the same port) the server and waits until it answers PING. */
  async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--loglevel',
      'warning',
    ]
    if (this.clusterPort !== undefined) {
      args.push(
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(this.clusterPort),
        '--cluster-config-file',
        join(this.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
      )
    }
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    let failed: Error | undefined
    child.on('error', (error) => {
      failed = error
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    this.process = child
    const deadline = Date.now() + 10_000
    for (;;) {
      if (failed !== undefined) {
        throw new Error(`redis-server could not be started (apt-get install redis-server): ${failed.message}`)
      }
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited: ${stderr}`)
      if (await answersPing(this.port)) return
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start: ${stderr}`)
      await sleep(50)
    }
  }

  /** Kills the server at once (SIGKILL), as a crash would, and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process
    if (child === undefined || !this.running) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open but nothing answers. */
  pause(frozen: boolean): void {
    this.process?.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
  }

  /** Stops the server for good and removes its folder. */
  async stop(): Promise<void> {
    this.pause(false)
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A Redis Cluster of `masters` masters (no replicas) made with `redis-cli --cluster create`. */
export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  /** Starts `masters` cluster nodes, joins them with `redis-cli --cluster create`, waits until the cluster is ok. */
  static async start(masters = 3): Promise<RedisCluster> {
    const servers = await Promise.all(
      Array.from({ length: masters }, () => RedisServer.start({ cluster: true })),
    )
    const cluster = new RedisCluster(servers)
    try {
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...servers.map((s) => `127.0.0.1:${s.port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { timeout: 30_000 },
      )
      await cluster.waitUntilReady()
    } catch (error) {
      await cluster.stop()
      throw error
    }
    return cluster
  }

  /** The seed URLs of the nodes, for `new RedisBackend({ url: cluster.urls })`. */
  get urls(): string[] {
    return this.servers.map((s) => s.url)
  }

  /** Resolves once every node reports `cluster_state:ok` (after a start, or a node's restart). */
  async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 20_000
    for (;;) {
      const states = await Promise.all(this.servers.map((s) => clusterState(s.port)))
      if (states.every((state) => state === 'ok')) return
      if (Date.now() > deadline) throw new Error(`Redis Cluster did not become ready: ${states.join(', ')}`)
      await sleep(100)
    }
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()))
  }
}

async function answersPing(port: number): Promise<boolean> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function clusterState(port: number): Promise<string> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    const info = String(await client.call('CLUSTER', 'INFO'))
    return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown'
  } catch (error) {
    return `error (${(error as Error).message})`
  } finally {
    client.disconnect()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
