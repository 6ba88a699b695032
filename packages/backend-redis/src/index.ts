export type { CircuitState } from './circuit-breaker.js'
export { DEFAULT_REDIS_URL } from './connect.js'
export {
  RedisBackend,
  type RedisBackendCommonOptions,
  type RedisBackendOptions,
  type RedisClientOptions,
  type RedisUrlOptions,
} from './redis-backend.js'
