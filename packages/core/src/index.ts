export type {
  Accelerations,
  Answer,
  AnyBackend,
  AsyncBackend,
  AtomicMethods,
  Backend,
  BackendCapabilities,
  BackendClass,
  BackendCore,
  BackendEntry,
  BackendGroup,
  BatchMethods,
  ListingMethods,
  OnBackend,
  ScopedStore,
  SyncBackend,
} from './backend/contract.js'
export { BACKEND_GROUPS, SPECIFICATION_VERSION } from './backend/contract.js'
export { accelerationsOf, type BackendV1 } from './backend/contract-v1.js'
export { describeBackend, type FeatureStatus, type FeatureSupport } from './backend/features.js'
export { Cache, type MethodReturn } from './cache.js'
export type { ErrorPolicy } from './context.js'
export type { ComputationLockOption } from './coordination/computation-lock.js'
export { reclaimTiming } from './coordination/reclaim-dead-results.js'
export {
  type BackendOfUrl,
  type CacheOptions,
  createCache,
  type EnvironmentCacheOptions,
  RAPIDE_URL,
  type UrlCacheOptions,
} from './create-cache.js'
export {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  CallbackError,
  ClosedError,
  CorruptEntryError,
  CounterOverflowError,
  DuplicateFunctionKeyError,
  type ErrorCode,
  ErrorCodes,
  IncompatibleBackendError,
  InvalidOptionError,
  InvalidPatternError,
  InvalidTtlError,
  NotACounterError,
  NotSupportedError,
  OutcomeUnknownError,
  RapideError,
  RateLimitError,
  SerializationError,
  SignatureError,
  UnkeyableArgumentError,
  ValueTooLargeError,
} from './errors.js'
export type { CacheEventName, CacheEvents, CacheListener } from './events.js'
export type {
  EarlyRefreshOption,
  ErrorFilter,
  FailSafeOption,
  NeverDieOption,
} from './freshness/freshness-policy.js'
export type { CacheInstrumentation, ComputeInfo } from './instrumentation.js'
export { InvalidationBatch } from './invalidation-batch.js'
export { isolateCallback } from './isolate-callback.js'
export type { KeyOptions, LockOptions, SetOptions } from './key-value.js'
export { type CacheKeyable, cacheKey } from './keys/cache-key.js'
export {
  type DescribedKey,
  describeKey,
  generationKeysOf,
  type KeyKind,
  namespaceOf,
} from './keys/describe-key.js'
export { encodeArguments, MAX_KEY_BYTES, MAX_KEY_DEPTH, MAX_KEY_SLOTS } from './keys/encode-arguments.js'
export { compileGlob, type GlobMatcher, globToRegExp } from './keys/glob.js'
export type { ArgumentKeyOptions } from './keys/key-options.js'
export type { MaybePromise } from './maybe-promise.js'
export { checkOptions } from './options.js'
export {
  type DescribeEntryOptions,
  describeEntry,
  type EntryDescription,
} from './serialization/describe-entry.js'
export { jsonSerializer } from './serialization/json-serializer.js'
export type { Serializer } from './serialization/serializer.js'
export { type SignOptions, signingKeyId } from './serialization/signing.js'
export { v8Serializer } from './serialization/v8-serializer.js'
export type { CacheStatisticsSnapshot, CallStatistics } from './statistics.js'
export type { HitLimitOption } from './strategies/hit-limit.js'
export type { LinkedTarget } from './strategies/linked-invalidation.js'
export type { RateLimitOption } from './strategies/rate-limit.js'
export type { CacheWhenSlowOption } from './strategies/slow-calls.js'
export { withTimeout } from './timeout.js'
export { parseTtl, type Ttl } from './ttl.js'
export type { CachedFunction, CachedMethod, CachedResult } from './types.js'
export {
  type AsyncUrlScheme,
  type BackendFromUrlOptions,
  backendFromUrl,
  type OpenBackendUrl,
  registerBackendScheme,
  type SyncUrlScheme,
} from './url/backend-url.js'
export { type LocalPathUrl, readLocalPathUrl } from './url/local-path-url.js'
export { redactUrl } from './url/redact-url.js'
export { readUrlOptions, type UrlOptionKind, type UrlOptionSpec } from './url/url-options.js'
export type { WrapOptions } from './wrap-options.js'
