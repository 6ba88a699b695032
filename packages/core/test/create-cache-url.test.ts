import Module from 'node:module'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import {
  type AnyBackend,
  BackendUnavailableError,
  createCache,
  IncompatibleBackendError,
  InvalidOptionError,
  RAPIDE_URL,
  registerBackendScheme,
} from '../src/index.js'
import { AsyncBytesBackend, FullMapBackend } from './support/backends.js'

// createCache with a URL for its backend, or none (RAPIDE_URL): the backend is built from the URL, owned
// (closed with the cache), and the types follow what the URL's scheme says about synchronous answers.

class ClosingMapBackend extends FullMapBackend {
  closed = 0
  readonly url: string
  constructor(url: string) {
    super(true)
    this.url = url
  }
  close(): void {
    this.closed++
  }
}

const opened: ClosingMapBackend[] = []
registerBackendScheme('testmap', (url) => {
  const backend = new ClosingMapBackend(url)
  opened.push(backend)
  return backend
})
registerBackendScheme('testbroken', () => {
  const backend = new ClosingMapBackend('broken')
  opened.push(backend)
  // Half the batch group: refused by createCache's checks after the URL opened it.
  ;(backend as unknown as { getMany?: unknown }).getMany = undefined
  return backend
})

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('createCache({ backend: url })', () => {
  it('builds the backend from the URL, and closes it with the cache', async () => {
    const cache = createCache({ domainKey: 'URL', backend: 'testmap://store-1' })
    const backend = cache.backend as unknown as ClosingMapBackend
    expect(backend.url).toBe('testmap://store-1')
    expect(cache.wrap('ID', (n: number) => n)(3)).toBe(3)
    await cache.close()
    expect(backend.closed).toBe(1)
  })

  it('closes a backend it opened when the backend is then refused', async () => {
    const before = opened.length
    expect(() => createCache({ domainKey: 'URL', backend: 'testbroken://x' })).toThrow(
      IncompatibleBackendError,
    )
    expect(opened.length).toBe(before + 1)
    await Promise.resolve() // closed right after the refusal, off the caller's stack
    expect(opened.at(-1)!.closed).toBe(1)
  })

  it('refuses an unknown scheme, naming the known ones, without showing the password', () => {
    let error: unknown
    try {
      createCache({ domainKey: 'URL', backend: 'nosuch://admin:hunter2@host/0' })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(String((error as Error).message)).toMatch(/nosuch/)
    expect(String((error as Error).message)).toMatch(/sqlite:\/\//)
    expect(String((error as Error).message)).not.toMatch(/hunter2/)
  })

  it('says which package to install when a built-in scheme has no package next to the app', () => {
    // The core package's own tests have no backend packages to resolve (they are not its dependencies).
    // Nowhere to find them: not from the working directory, the main script, nor NODE_PATH (which pnpm's
    // launchers point at the store, where every workspace package is; Node reads it at start-up, hence
    // `_initPaths`).
    const cwd = process.cwd()
    const argv1 = process.argv[1]
    const nodePath = process.env.NODE_PATH
    const initPaths = () => (Module as unknown as { _initPaths(): void })._initPaths()
    process.chdir('/')
    process.argv[1] = '/nonexistent/main.js'
    delete process.env.NODE_PATH
    initPaths()
    try {
      expect(() => createCache({ domainKey: 'URL', backend: 'sqlite:///tmp/app.db' })).toThrow(
        BackendUnavailableError,
      )
      expect(() => createCache({ domainKey: 'URL', backend: 'redis://u:pw@localhost:6379' })).toThrow(
        /@rapide\/backend-redis/,
      )
    } finally {
      process.chdir(cwd)
      process.argv[1] = argv1!
      if (nodePath !== undefined) process.env.NODE_PATH = nodePath
      initPaths()
    }
  })

  it('refuses a backend that is neither a class, an instance nor a URL', () => {
    expect(() => createCache({ domainKey: 'URL', backend: 42 as never })).toThrow(InvalidOptionError)
    expect(() => createCache({ domainKey: 'URL', backend: null as never })).toThrow(InvalidOptionError)
  })
})

describe('RAPIDE_URL', () => {
  it('names the backend when createCache is given none', async () => {
    vi.stubEnv(RAPIDE_URL, 'testmap://from-env')
    const cache = createCache({ domainKey: 'ENV' })
    expect((cache.backend as unknown as ClosingMapBackend).url).toBe('testmap://from-env')
    const id = cache.wrap('ID', (n: number) => n)
    expect(await id(5)).toBe(5)
    await cache.close()
    expect((cache.backend as unknown as ClosingMapBackend).closed).toBe(1)
  })

  it('without it and without a backend, says what to do', () => {
    vi.stubEnv(RAPIDE_URL, '')
    expect(() => createCache({ domainKey: 'ENV' })).toThrow(/RAPIDE_URL/)
  })

  it('a backend given in code wins over the environment', async () => {
    vi.stubEnv(RAPIDE_URL, 'testmap://from-env')
    const backend = new FullMapBackend(false)
    const cache = createCache({ domainKey: 'ENV', backend })
    expect(cache.backend).toBe(backend)
    await cache.close()
  })
})

describe('types of a cache built from a URL', () => {
  // Types only: these caches are never created (the packages are not this package's dependencies).
  const never = false as boolean
  it('are synchronous for mem:, disk: and sqlite: literals, promises for Redis, either for a runtime string', () => {
    if (never) {
      const memory = createCache({ domainKey: 'T', backend: 'mem://' })
      expectTypeOf(memory.wrap('F', (n: number) => n)(1)).toEqualTypeOf<number>()
      const sqlite = createCache({ domainKey: 'T', backend: 'sqlite:///tmp/app.db' })
      expectTypeOf(sqlite.invalidateDomain()).toEqualTypeOf<void>()
      const disk = createCache({ domainKey: 'T', backend: 'disk:///var/cache/app' })
      expectTypeOf(disk.get<string>('k')).toEqualTypeOf<string | undefined>()
      const redis = createCache({ domainKey: 'T', backend: 'redis://localhost:6379' })
      expectTypeOf(redis.wrap('F', (n: number) => n)(1)).toEqualTypeOf<Promise<number>>()
      const cluster = createCache({ domainKey: 'T', backend: 'redis+cluster://a:7000,b:7001' })
      expectTypeOf(cluster.invalidateDomain()).toEqualTypeOf<Promise<void>>()
      const fromEnvironment = createCache({ domainKey: 'T', backend: process.env.CACHE_URL as string })
      expectTypeOf(fromEnvironment.wrap('F', (n: number) => n)(1)).toEqualTypeOf<number | Promise<number>>()
      const implicit = createCache({ domainKey: 'T' })
      expectTypeOf(implicit.invalidateDomain()).toEqualTypeOf<void | Promise<void>>()
      // An async function is a promise whatever the store.
      expectTypeOf(implicit.wrap('G', async (n: number) => n)(1)).toEqualTypeOf<Promise<number>>()
      // Backends given as instances keep their exact types.
      const instance = createCache({ domainKey: 'T', backend: new AsyncBytesBackend() })
      expectTypeOf(instance.backend).toEqualTypeOf<AsyncBytesBackend>()
      expectTypeOf(instance).not.toEqualTypeOf<AnyBackend>()
    }
    expect(never).toBe(false)
  })
})
