/**
 * Real Redis servers for tests: a standalone `redis-server` or a Redis Cluster on free loopback ports,
 * started and stopped by the test itself (needs `redis-server` and `redis-cli` on the PATH). This is what
 * rapide's own tests, benchmark and example use.
 *
 * @example
 * import { RedisServer } from '@rapide/backend-redis/testing'
 * const server = await RedisServer.start()
 * const backend = new RedisBackend({ url: server.url })
 * // ... and in teardown:
 * await server.stop()
 */
export { freePort, RedisCluster, RedisServer, redisBinariesAvailable } from './redis-servers.js'
