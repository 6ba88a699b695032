import { RedisServer } from '@rapide/backend-redis/testing'

/** The Redis the benchmark runs against: `REDIS_URL`, or a `redis-server` of its own on a free loopback port. */
export interface BenchRedis {
  readonly url: string
  stop(): Promise<void>
}

export async function benchRedis(): Promise<BenchRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} }
  const server = await RedisServer.start()
  return { url: server.url, stop: () => server.stop() }
}
