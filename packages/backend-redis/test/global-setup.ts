import type { TestProject } from 'vitest/node'
import { RedisCluster, RedisServer, redisBinariesAvailable } from '../src/testing/index.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A standalone Redis for the tests (`REDIS_URL`, or one started here); undefined when none. */
    redisUrl: string | undefined
    /** The seed URLs of a 3-master Redis Cluster started here; undefined when redis-server is missing. */
    redisClusterUrls: string[] | undefined
    /** Whether redis-server can be started by tests that need a server of their own (fault injection). */
    redisBinaries: boolean
  }
}

/**
 * Starts one standalone Redis and one 3-master Redis Cluster on free loopback ports for every test file,
 * or uses `REDIS_URL` for the standalone one. Without Redis the tests are skipped with a loud message,
 * except under CI, where that is a failure.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = await redisBinariesAvailable()
  if (!binaries) {
    const message =
      'redis-server / redis-cli not found: the Redis backend tests need them (apt-get install redis-server).'
    if (process.env.CI) throw new Error(`${message} Under CI no Redis test may be skipped.`)
    console.warn(
      `\n${'!'.repeat(100)}\n!! ${message}\n!! SKIPPING Redis tests${process.env.REDIS_URL ? ' that need their own servers' : ''}.\n${'!'.repeat(100)}\n`,
    )
  }
  let standalone: RedisServer | undefined
  let cluster: RedisCluster | undefined
  if (binaries) {
    ;[standalone, cluster] = await Promise.all([
      process.env.REDIS_URL ? undefined : RedisServer.start(),
      RedisCluster.start(3),
    ])
  }
  project.provide('redisUrl', process.env.REDIS_URL ?? standalone?.url)
  project.provide('redisClusterUrls', cluster?.urls)
  project.provide('redisBinaries', binaries)
  return async () => {
    await Promise.all([standalone?.stop(), cluster?.stop()])
  }
}
