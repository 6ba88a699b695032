export type { CircuitState } from './circuit-breaker.js'
export { DEFAULT_REDIS_URL } from './connect.js'
export { type RedisAccelerations, RedisBackend } from './redis-backend.js'
export type {
  RedisBackendCommonOptions,
  RedisBackendOptions,
  RedisClientOptions,
  RedisUrlOptions,
} from './redis-backend-options.js'
