import { checkBackend } from './backend/check-backend.js'
import type { AnyBackend, BackendClass } from './backend/contract.js'
import { Cache } from './cache.js'
import { CacheContext, type ErrorPolicy } from './context.js'
import { InvalidOptionError } from './errors.js'
import { EventHub } from './events.js'
import { KeyLayout } from './keys/key-layout.js'
import { checkOptions } from './options.js'
import type { Serializer } from './serialization/serializer.js'
import { type SignOptions, signerOf } from './serialization/signing.js'
import { v8Serializer } from './serialization/v8-serializer.js'
import { parseOptionalTtl, parseTtl, type Ttl } from './ttl.js'

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
}

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
export function createCache<B extends AnyBackend>(options: CacheOptions<B>): Cache<B> {
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
  const { backend, owned } = resolveBackend(options.backend)
  const events = new EventHub()
  const layout = new KeyLayout(keyPrefix, domainKey, String(version))
  const ctx = new CacheContext(
    checkBackend(backend),
    domainKey,
    layout,
    serializer,
    events,
    onError,
    timeoutMs,
    defaultTtlMs,
    signer,
  )
  return new Cache<B>(ctx, events, owned)
}

function resolveBackend<B extends AnyBackend>(given: B | BackendClass<B>): { backend: B; owned: boolean } {
  if (typeof given === 'function') return { backend: new given(), owned: true }
  return { backend: given, owned: false }
}
