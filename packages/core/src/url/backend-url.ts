import { createRequire } from 'node:module'
import { isAbsolute, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inspect } from 'node:util'
import type { AnyBackend } from '../backend/contract.js'
import { BackendUnavailableError, InvalidOptionError, RapideError } from '../errors.js'
import { redactUrl, secretParameterValues } from './redact-url.js'

/** Where a scheme's backend comes from: a package exporting a class with a static `fromUrl(url)`. */
interface PackagedScheme {
  readonly packageName: string
  readonly exportName: string
}

/** Opens a backend for a URL of a scheme registered with {@link registerBackendScheme}. */
export type OpenBackendUrl = (url: string) => AnyBackend

/**
 * The schemes rapide knows. Each backend package exports a class with a static `fromUrl(url)` that reads
 * its own options from the URL (validated like constructor options), so the packages stay the only place
 * that knows what their options mean.
 */
const BUILT_IN_SCHEMES: Readonly<Record<string, PackagedScheme>> = {
  mem: { packageName: '@rapide/backend-memory', exportName: 'MemoryBackend' },
  disk: { packageName: '@rapide/backend-disk', exportName: 'DiskBackend' },
  sqlite: { packageName: '@rapide/backend-sqlite', exportName: 'SqliteBackend' },
  redis: { packageName: '@rapide/backend-redis', exportName: 'RedisBackend' },
  rediss: { packageName: '@rapide/backend-redis', exportName: 'RedisBackend' },
  'redis+cluster': { packageName: '@rapide/backend-redis', exportName: 'RedisBackend' },
  'rediss+cluster': { packageName: '@rapide/backend-redis', exportName: 'RedisBackend' },
}

/** The schemes whose backends answer synchronously: the types of a cache built from such a URL say so. */
export type SyncUrlScheme = 'mem' | 'disk' | 'sqlite'
/** The schemes whose backends answer with promises. */
export type AsyncUrlScheme = 'redis' | 'rediss' | 'redis+cluster' | 'rediss+cluster'

const registered = new Map<string, OpenBackendUrl>()

/**
 * Teaches {@link backendFromUrl} (and `createCache({ backend: url })`, `RAPIDE_URL`, the `rapide` CLI) a
 * scheme of a third-party backend. Built-in schemes cannot be replaced.
 *
 * @example
 * import { registerBackendScheme } from '@rapide/core'
 * registerBackendScheme('dynamo', (url) => DynamoBackend.fromUrl(url))
 * const cache = createCache({ domainKey: 'APP', backend: 'dynamo://table-name?region=eu-west-1' })
 */
export function registerBackendScheme(scheme: string, open: OpenBackendUrl): void {
  const name = scheme.toLowerCase().replace(/:$/, '')
  if (!/^[a-z][a-z0-9+.-]*$/.test(name))
    throw new InvalidOptionError(`registerBackendScheme: "${scheme}" is not a URL scheme`)
  if (name in BUILT_IN_SCHEMES) throw new InvalidOptionError(`registerBackendScheme: "${name}" is built in`)
  if (typeof open !== 'function') throw new InvalidOptionError('registerBackendScheme: expected a function')
  const known = registered.get(name)
  if (known !== undefined && known !== open) {
    throw new InvalidOptionError(
      `registerBackendScheme: "${name}" is already registered with another opener (two backends claim it)`,
    )
  }
  registered.set(name, open)
}

/** Options of {@link backendFromUrl}. */
export interface BackendFromUrlOptions {
  /**
   * Where to look for the backend package (a file path or `file:` URL, such as `import.meta.url`), tried
   * before the defaults: the current directory, the main script's directory and this package's own place.
   * A tool that ships its own backends (the `rapide` CLI) passes its location.
   */
  readonly resolveFrom?: string | URL
}

/**
 * Builds a backend from a URL, loading its package on demand:
 *
 * | URL | backend |
 * |---|---|
 * | `mem://?maxEntries=10000` | `MemoryBackend` |
 * | `disk:///var/cache/app` | `DiskBackend` |
 * | `sqlite:///var/cache/app.db`, `sqlite://:memory:` | `SqliteBackend` |
 * | `redis://user:pass@host:6379/0`, `rediss://…` (TLS) | `RedisBackend` |
 * | `redis+cluster://host1:7000,host2:7001` | `RedisBackend` over a Redis Cluster |
 *
 * Query-string options are the backend's constructor options, validated the same way (an unknown one is an
 * `InvalidOptionError`). A backend package that is not installed is a `BackendUnavailableError` saying
 * which package to install. No message ever shows the URL's password.
 *
 * @example
 * const backend = backendFromUrl(process.env.CACHE_URL ?? 'sqlite:///var/cache/app.db')
 */
export function backendFromUrl(url: string, options: BackendFromUrlOptions = {}): AnyBackend {
  if (typeof url !== 'string')
    throw new InvalidOptionError(`backendFromUrl: expected a URL string, got ${typeof url}`)
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())
  if (match === null) {
    throw new InvalidOptionError(
      `"${redactUrl(url)}" is not a backend URL: it needs a scheme (${knownSchemes().join(', ')})`,
    )
  }
  const scheme = match[1]!.toLowerCase()
  const open = registered.get(scheme)
  if (open !== undefined) return opened(() => open(url.trim()), scheme, url)
  const packaged = BUILT_IN_SCHEMES[scheme]
  if (packaged === undefined) {
    throw new InvalidOptionError(
      `Unknown backend URL scheme "${scheme}:" in "${redactUrl(url)}"; known schemes: ${knownSchemes().join(', ')} (a third-party backend registers its own with registerBackendScheme)`,
    )
  }
  const backendClass = loadExport(packaged, scheme, options.resolveFrom) as {
    fromUrl?: (url: string) => AnyBackend
  }
  if (typeof backendClass.fromUrl !== 'function') {
    throw new BackendUnavailableError(
      `${packaged.packageName} is installed but too old to open URLs (${packaged.exportName}.fromUrl is missing): update it`,
    )
  }
  const fromUrl = backendClass.fromUrl.bind(backendClass)
  return opened(() => fromUrl(url.trim()), scheme, url)
}

/**
 * Runs a scheme's opener. A typed error passes on as it is, unless its text holds the URL's password;
 * anything else (a driver's error) is wrapped with the redacted URL. Either way no message, stack or
 * cause that reaches the caller quotes the password: one that does is rewritten, and its cause dropped.
 */
function opened(open: () => AnyBackend, scheme: string, url: string): AnyBackend {
  try {
    return checked(open(), scheme, url)
  } catch (error) {
    const secrets = secretsOf(url)
    const leaks = (text: string) => secrets.some((secret) => text.includes(secret))
    const scrub = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('***'), text)
    const message = String((error as Error)?.message ?? error)
    const detail =
      error instanceof Error
        ? `${error.stack ?? ''}\n${inspect(error, { depth: Number.POSITIVE_INFINITY })}`
        : message
    if (RapideError.isInstance(error) && !leaks(detail)) throw error
    throw new BackendUnavailableError(
      `Cannot open "${redactUrl(url)}": ${scrub(message)}`,
      leaks(detail) ? undefined : error,
    )
  }
}

/**
 * What of a URL must never be shown: the password (as written and percent-decoded) and the values of
 * secret-named query parameters, and the raw URL itself when it holds any of them.
 */
function secretsOf(url: string): string[] {
  const text = url.trim()
  const secrets: string[] = []
  const redacted = redactUrl(text)
  if (redacted !== text) {
    secrets.push(url, text)
    const start = text.indexOf('//')
    const at = text.lastIndexOf('@')
    if (at > 0) {
      const userInfo = text.slice(start < 0 ? text.indexOf(':') + 1 : start + 2, at)
      const colon = userInfo.indexOf(':')
      const password = colon < 0 ? userInfo : userInfo.slice(colon + 1)
      if (password !== '') {
        secrets.push(password)
        try {
          secrets.push(decodeURIComponent(password))
        } catch {
          // not percent-encoded: as written is enough
        }
      }
    }
    for (const value of secretParameterValues(text)) {
      secrets.push(value)
      // As a driver may quote it: decoded (`+` a space, `%2B` a plus).
      const decoded = new URLSearchParams(`v=${value}`).get('v')
      if (decoded !== null) secrets.push(decoded)
    }
  }
  // Longest first, so a password inside the whole URL does not leave the rest of the URL half-scrubbed.
  return [...new Set(secrets)].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length)
}

function checked(backend: AnyBackend, scheme: string, url: string): AnyBackend {
  if (backend === null || typeof backend !== 'object') {
    throw new InvalidOptionError(`The "${scheme}:" scheme did not give a backend for "${redactUrl(url)}"`)
  }
  return backend
}

function knownSchemes(): string[] {
  return [...Object.keys(BUILT_IN_SCHEMES), ...registered.keys()].map((name) => `${name}://`)
}

/**
 * Loads a backend package synchronously (Node ≥ 20.19 `require`s ES modules), so `createCache` stays
 * synchronous and a synchronous backend keeps synchronous types. The package is looked for from each
 * place in turn: in a pnpm or Yarn PnP install, the application's directory sees its own dependencies,
 * while this package's directory may not.
 */
function loadExport(scheme: PackagedScheme, name: string, resolveFrom: string | URL | undefined): unknown {
  const { packageName, exportName } = scheme
  let resolved: string | undefined
  let require: NodeJS.Require | undefined
  for (const base of searchBases(resolveFrom)) {
    try {
      require = createRequire(base)
      resolved = require.resolve(packageName)
      break
    } catch {
      // not from here: try the next place
    }
  }
  if (resolved === undefined || require === undefined) {
    throw new BackendUnavailableError(
      `The "${name}:" scheme needs ${packageName}, which is not installed: \`npm install ${packageName}\` (or pnpm add / yarn add)`,
    )
  }
  let loaded: Record<string, unknown>
  try {
    loaded = require(resolved) as Record<string, unknown>
  } catch (error) {
    if (RapideError.isInstance(error)) throw error
    throw new BackendUnavailableError(
      `${packageName} is installed but does not load: ${String((error as Error)?.message ?? error)}`,
      error,
    )
  }
  const exported = loaded[exportName]
  if (typeof exported !== 'function') {
    throw new BackendUnavailableError(
      `${packageName} does not export ${exportName}: is it a rapide backend package?`,
    )
  }
  return exported
}

function searchBases(resolveFrom: string | URL | undefined): (string | URL)[] {
  const bases: (string | URL)[] = []
  if (resolveFrom !== undefined) bases.push(resolveFrom)
  // The application's own copy first: its main script's place, then the working directory.
  const main = process.argv[1]
  if (main !== undefined && isAbsolute(main)) bases.push(pathToFileURL(main))
  bases.push(pathToFileURL(join(process.cwd(), 'noop.js')))
  bases.push(import.meta.url)
  return bases
}
