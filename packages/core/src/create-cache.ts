import { type CheckedBackend, checkBackend } from './backend/check-backend.js'
import type { AnyBackend, AsyncBackend, Backend, BackendClass, SyncBackend } from './backend/contract.js'
import { Cache } from './cache.js'
import { CacheContext, type ComputeHook, type ErrorPolicy } from './context.js'
import { InvalidOptionError } from './errors.js'
import { EventHub } from './events.js'
import type { CacheInstrumentation } from './instrumentation.js'
import { KeyLayout } from './keys/key-layout.js'
import { checkOptions } from './options.js'
import type { Serializer } from './serialization/serializer.js'
import { type SignOptions, signerOf } from './serialization/signing.js'
import { v8Serializer } from './serialization/v8-serializer.js'
import { CacheStatistics } from './statistics.js'
import { parseOptionalTtl, parseTtl, type Ttl } from './ttl.js'
import { type AsyncUrlScheme, backendFromUrl, type SyncUrlScheme } from './url/backend-url.js'

/** Options of {@link createCache}. */
export interface CacheOptions<B extends AnyBackend> {
  /** The namespace of everything this cache stores; `invalidateDomain` drops all of it. */
  domainKey: string
  /** A backend class (built with its defaults and environment variables) or a backend instance. */
  backend: B | BackendClass<B>
  /** Default time to live: seconds, or a string like `'500ms'`, `'5m'`, `'2d'`. Omit for no expiry. */
  defaultTtl?: Ttl
  /** How values become bytes on byte-storing backends. Default: {@link v8Serializer}. */
  serializer?: Serializer
  /**
   * What a wrapped call does when the backend fails: `'silent'` (default) computes the value and reports
   * the error through the `error` event; `'raise'` throws a typed error. Invalidations and key-value
   * operations always throw on failure: they have no safe fallback.
   */
  onError?: ErrorPolicy
  /** Upper bound of every asynchronous backend operation. Default `'1s'`. */
  timeout?: Ttl
  /** Prepended to every key, e.g. `'myapp:'`, to share one store between applications. */
  keyPrefix?: string
  /** Default version in every key (impcache-style); bump it to ignore everything stored before. Default `1`. */
  version?: string | number
  /**
   * Signs every stored value and result with an HMAC-SHA256 bound to its storage key; an entry that does
   * not verify (forged, copied from another key, unsigned) is a reported miss. `acceptedKeys` are also
   * accepted when reading (key rotation). Nothing to sign on an in-process backend (memory): accepted
   * there and inert. See "Signed values" in the README.
   * @example sign: { key: process.env.CACHE_SIGNING_KEY! } // `openssl rand -base64 32`
   */
  sign?: SignOptions
  /**
   * Counts hits, misses, stale answers, computations and more per function (`cache.stats()`). Default
   * `true`: it costs the hit path one increment. `false` turns it off (`cache.stats()` then throws).
   */
  stats?: boolean
  /**
   * Plug-ins that observe the cache: metrics and tracing (`openTelemetry()` from
   * `@rapide/core/opentelemetry`), or your own (see {@link CacheInstrumentation}).
   */
  instrumentation?: CacheInstrumentation | readonly CacheInstrumentation[]
}

/**
 * {@link CacheOptions} with the backend given as a URL (see `backendFromUrl`): `'sqlite:///var/cache/app.db'`,
 * `'redis://cache.internal:6379'`… The backend package is loaded on demand and closed with the cache.
 */
export interface UrlCacheOptions<U extends string> extends Omit<CacheOptions<AnyBackend>, 'backend'> {
  backend: U
}

/** {@link CacheOptions} without a backend: the `RAPIDE_URL` environment variable names it. */
export interface EnvironmentCacheOptions extends Omit<CacheOptions<AnyBackend>, 'backend'> {
  backend?: undefined
}

/**
 * The backend type a URL gives, as far as the types can tell: synchronous for `mem:`, `disk:` and
 * `sqlite:` literals, asynchronous for Redis ones; for a URL known only at run time (a `string`), either,
 * so every answer is typed `T | Promise<T>`: `await` it (await works on both).
 */
export type BackendOfUrl<U extends string> = U extends `${SyncUrlScheme}:${string}`
  ? SyncBackend<unknown>
  : U extends `${AsyncUrlScheme}:${string}`
    ? AsyncBackend<unknown>
    : Backend<unknown>

/** The environment variable that names the backend when `createCache` is given none. */
export const RAPIDE_URL = 'RAPIDE_URL'

/** Every option `createCache` knows: anything else is refused, never silently ignored. */
const CACHE_OPTIONS = [
  'domainKey',
  'backend',
  'defaultTtl',
  'serializer',
  'onError',
  'timeout',
  'keyPrefix',
  'version',
  'sign',
  'stats',
  'instrumentation',
] as const

/**
 * Creates a cache for one domain on one backend.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { MemoryBackend } from '@rapide/backend-memory'
 *
 * const cache = createCache({ domainKey: 'EXAMPLE_DOMAIN', backend: MemoryBackend, defaultTtl: 30 })
 * const getCustomerName = cache.wrap('GET_CUSTOMER_NAME', (cid: number): string => data[cid])
 */
export function createCache<B extends AnyBackend>(options: CacheOptions<B>): Cache<B>
/**
 * Creates a cache whose backend is given by URL (`'sqlite:///var/cache/app.db'`, `'redis://…'`): see
 * `backendFromUrl` for every scheme. The backend's package is loaded on demand; the cache closes it.
 *
 * @example
 * const cache = createCache({ domainKey: 'APP', backend: 'sqlite:///var/cache/app.db', defaultTtl: '5m' })
 */
export function createCache<const U extends string>(options: UrlCacheOptions<U>): Cache<BackendOfUrl<U>>
/**
 * Creates a cache on the backend the `RAPIDE_URL` environment variable names (a URL as above): an
 * application then switches stores by configuration, with no code change. Every answer is typed
 * `T | Promise<T>` (the store is only known at run time): `await` it.
 *
 * @example
 * // RAPIDE_URL=redis://cache.internal:6379/0 node app.js
 * const cache = createCache({ domainKey: 'APP', defaultTtl: '5m' })
 * const name = await getName(42)
 */
export function createCache(options: EnvironmentCacheOptions): Cache<Backend<unknown>>
export function createCache(
  options: CacheOptions<AnyBackend> | UrlCacheOptions<string> | EnvironmentCacheOptions,
): Cache<AnyBackend> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('createCache needs options')
  checkOptions(options, CACHE_OPTIONS, 'createCache')
  const { domainKey, serializer = v8Serializer, onError = 'silent', keyPrefix = '', version = 1 } = options
  if (typeof domainKey !== 'string' || domainKey.length === 0) {
    throw new InvalidOptionError('createCache: `domainKey` must be a non-empty string')
  }
  if (onError !== 'silent' && onError !== 'raise') {
    throw new InvalidOptionError(
      `createCache: \`onError\` must be 'silent' or 'raise', got ${String(onError)}`,
    )
  }
  if (typeof keyPrefix !== 'string') throw new InvalidOptionError('createCache: `keyPrefix` must be a string')
  if (!serializer || typeof serializer.encode !== 'function' || typeof serializer.decode !== 'function') {
    throw new InvalidOptionError('createCache: `serializer` must have encode and decode functions')
  }
  const defaultTtlMs = parseOptionalTtl(options.defaultTtl, 'createCache: defaultTtl')
  const timeoutMs = parseTtl(options.timeout ?? '1s', 'createCache: timeout')
  // Before the backend is resolved: a refused key must not leave a store opened.
  const signer = signerOf(options.sign)
  const { stats = true } = options
  if (typeof stats !== 'boolean') throw new InvalidOptionError('createCache: `stats` must be true or false')
  const instrumentations = instrumentationsOf(options.instrumentation)
  const layout = new KeyLayout(keyPrefix, domainKey, String(version))
  const { backend, owned } = resolveBackend(options.backend)
  let checked: CheckedBackend
  try {
    checked = checkBackend(backend)
  } catch (error) {
    // A store this call opened (from a class or a URL) is not left open behind a refusal.
    closeQuietly(backend, owned)
    throw error
  }
  const events = new EventHub()
  const ctx = new CacheContext(
    checked,
    domainKey,
    layout,
    serializer,
    events,
    onError,
    timeoutMs,
    defaultTtlMs,
    signer,
  )
  if (stats) ctx.statistics = new CacheStatistics()
  ctx.computeHooks = instrumentations.flatMap((plugin) =>
    plugin.compute === undefined ? [] : [plugin.compute.bind(plugin) as ComputeHook],
  )
  const cache = new Cache<AnyBackend>(ctx, events, owned)
  try {
    for (const plugin of instrumentations) plugin.attach?.(cache)
  } catch (error) {
    ctx.markClosed()
    closeQuietly(backend, owned)
    throw error
  }
  return cache
}

/**
 * Closes a backend this call opened (from a class or a URL) behind a refusal, so no store is left open;
 * its own failure to close must not hide why it was refused (a synchronous throw included).
 */
function closeQuietly(backend: AnyBackend, owned: boolean): void {
  if (!owned) return
  void Promise.resolve()
    .then(() => backend.close?.())
    .catch(() => {})
}

/**
 * The backend to use and whether the cache owns it (closes it): a class or a URL is built here and owned;
 * an instance stays the caller's. No backend at all: the `RAPIDE_URL` environment variable's URL.
 */
function resolveBackend(given: unknown): { backend: AnyBackend; owned: boolean } {
  if (typeof given === 'function') return { backend: new (given as BackendClass<AnyBackend>)(), owned: true }
  if (typeof given === 'string') return { backend: backendFromUrl(given), owned: true }
  if (given === undefined) {
    const url = process.env[RAPIDE_URL]
    if (url === undefined || url.trim() === '') {
      throw new InvalidOptionError(
        `createCache needs a \`backend\` (a backend class, an instance or a URL such as 'sqlite:///var/cache/app.db'), or the ${RAPIDE_URL} environment variable set to a backend URL`,
      )
    }
    return { backend: backendFromUrl(url), owned: true }
  }
  if (typeof given !== 'object' || given === null) {
    throw new InvalidOptionError(
      `createCache: \`backend\` must be a backend class, a backend instance or a URL, got ${given === null ? 'null' : typeof given}`,
    )
  }
  return { backend: given as AnyBackend, owned: false }
}

function instrumentationsOf(
  given: CacheInstrumentation | readonly CacheInstrumentation[] | undefined,
): readonly CacheInstrumentation[] {
  if (given === undefined) return []
  const list = Array.isArray(given)
    ? (given as readonly CacheInstrumentation[])
    : [given as CacheInstrumentation]
  for (const plugin of list) {
    if (
      plugin === null ||
      typeof plugin !== 'object' ||
      (plugin.attach !== undefined && typeof plugin.attach !== 'function') ||
      (plugin.compute !== undefined && typeof plugin.compute !== 'function')
    ) {
      throw new InvalidOptionError(
        'createCache: each `instrumentation` must be an object with optional attach(cache) and compute(info, run) functions',
      )
    }
  }
  return list
}
