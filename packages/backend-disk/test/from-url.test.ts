import { existsSync, mkdirSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { backendFromUrl, InvalidOptionError, InvalidTtlError, RapideError } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { DiskBackend } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

const { root, next } = scratch('from-url')
const opened: DiskBackend[] = []
afterAll(() => {
  for (const backend of opened) backend.close()
})

function open(url: string): DiskBackend {
  const backend = DiskBackend.fromUrl(url)
  opened.push(backend)
  return backend
}

/** The settings a backend acts on (private): what the URL's options became. */
function settingsOf(backend: DiskBackend): Record<string, unknown> {
  const { onCorruptFile: _callback, ...settings } = (
    backend as unknown as { settings: Record<string, unknown> }
  ).settings
  return settings
}

/** A file URL's path part, percent-encoded as a URL writes it. */
const urlPath = (path: string) => pathToFileURL(path).pathname

/** The error `open` throws: an `InvalidOptionError` (or `InvalidTtlError`) never showing `secret`. */
function refusal(url: string): RapideError {
  let caught: unknown
  try {
    open(url)
  } catch (error) {
    caught = error
  }
  expect(RapideError.isInstance(caught)).toBe(true)
  expect([InvalidOptionError, InvalidTtlError].some((type) => caught instanceof type)).toBe(true)
  expect((caught as Error).message).not.toContain('secret')
  return caught as RapideError
}

/** Runs `body` with the working directory set to `directory`. */
function inDirectory<T>(directory: string, body: () => T): T {
  const before = process.cwd()
  process.chdir(directory)
  try {
    return body()
  } finally {
    process.chdir(before)
  }
}

describe('DiskBackend.fromUrl: the directory', () => {
  it('disk:///absolute/path is that directory, and its files land there', () => {
    const directory = next()
    const backend = open(`disk://${urlPath(directory)}`)
    expect(backend.directory).toBe(directory)
    expect(backend.storeId).toBe(`disk:${realpathSync(directory)}`)
    backend.set('k', bytes('v'), undefined)
    expect(groupFiles(directory)).toHaveLength(1)
    // A second instance, built in code over the same directory, is the same store.
    const second = new DiskBackend({ directory })
    opened.push(second)
    expect(text(second.get('k'))).toBe('v')
    expect(second.storeId).toBe(backend.storeId)
  })

  it('disk:/absolute/path (one slash) is the same directory', () => {
    const directory = next()
    expect(open(`disk:${urlPath(directory)}`).directory).toBe(directory)
  })

  it('decodes percent-escapes: spaces, #, ? and non-ASCII letters in the path', () => {
    const directory = join(root, 'my cache #1 ?é')
    const url = `disk://${urlPath(directory)}`
    expect(url).toContain('my%20cache%20%231%20%3F')
    const backend = open(url)
    expect(backend.directory).toBe(directory)
    backend.set('k', bytes('v'), undefined)
    expect(existsSync(directory)).toBe(true)
    expect(groupFiles(directory)).toHaveLength(1)
  })

  it('disk:./relative and disk:relative are resolved against the working directory when the URL is read', () => {
    const base = next()
    const project = join(base, 'project')
    mkdirSync(project, { recursive: true })
    const [dotted, plain, spaced] = inDirectory(project, () => [
      open('disk:./cache-a'),
      open('disk:cache-b?openFiles=0'),
      open('disk:nested/my%20cache'),
    ])
    expect(dotted!.directory).toBe(join(project, 'cache-a'))
    expect(plain!.directory).toBe(join(project, 'cache-b'))
    expect(spaced!.directory).toBe(join(project, 'nested', 'my cache'))
    // Absolute once and for all: now that the working directory is back, writes still go there.
    plain!.set('k', bytes('v'), undefined)
    expect(groupFiles(join(project, 'cache-b'))).toHaveLength(1)
  })

  it('disk:// and disk: alone are the default directory', () => {
    const directory = next()
    const before = process.env.RAPIDE_DISK_DIR
    process.env.RAPIDE_DISK_DIR = directory
    try {
      expect(open('disk://').directory).toBe(directory)
      expect(open('disk:?pruneInterval=false').directory).toBe(directory)
    } finally {
      if (before === undefined) delete process.env.RAPIDE_DISK_DIR
      else process.env.RAPIDE_DISK_DIR = before
    }
  })

  it.runIf(process.platform === 'win32')('disk:///C:/path is a drive path on Windows', () => {
    const directory = next()
    expect(open(`disk://${urlPath(directory)}`).directory).toBe(directory)
  })

  it('refuses a host, credentials, a fragment, ~ and malformed escapes, never showing a password', () => {
    expect(refusal('disk://cache/dir').message).toMatch(/not a host \("cache"\).*disk:\/\/\/absolute/)
    expect(refusal('disk://./cache').message).toMatch(/not a host/)
    expect(refusal('disk://admin:secret@host/dir').message).toMatch(/no credentials/)
    expect(refusal('disk://admin:secret@host/dir').message).toContain('admin:***@')
    expect(refusal(`disk://${urlPath(next())}#part`).message).toMatch(/fragment.*%23/)
    expect(refusal('disk:~/cache').message).toMatch(/~ is not expanded/)
    expect(refusal(`disk://${urlPath(next())}%zz`).message).toMatch(/malformed percent-escape/)
    expect(refusal('disk:///tmp/a%00b').message).toMatch(/NUL/)
    expect(refusal('sqlite:///tmp/x.db').message).toMatch(/not a disk: URL/)
  })
})

describe('DiskBackend.fromUrl: options', () => {
  it('reads every option into the settings the constructor would make of it', () => {
    const directory = next()
    const fromUrl = open(
      `disk://${urlPath(directory)}?maxBytes=5000000&lockTimeout=30s&busyTimeout=250ms&pruneInterval=5m&openFiles=16`,
    )
    const inCode = new DiskBackend({
      directory,
      maxBytes: 5_000_000,
      lockTimeout: '30s',
      busyTimeout: '250ms',
      pruneInterval: '5m',
      openFiles: 16,
    })
    opened.push(inCode)
    expect(settingsOf(fromUrl)).toEqual(settingsOf(inCode))
    expect(settingsOf(fromUrl)).toMatchObject({
      maxBytes: 5_000_000,
      lockTimeoutMs: 30_000,
      busyTimeoutMs: 250,
      pruneIntervalMs: 300_000,
      openFiles: 16,
    })
  })

  it('durations may be seconds; pruneInterval=false turns the background prune off', () => {
    const backend = open(`disk://${urlPath(next())}?lockTimeout=1.5&busyTimeout=2&pruneInterval=false`)
    expect(settingsOf(backend)).toMatchObject({
      lockTimeoutMs: 1500,
      busyTimeoutMs: 2000,
      pruneIntervalMs: undefined,
    })
    expect((backend as unknown as { timer: unknown }).timer).toBeUndefined()
  })

  it('maxBytes from the URL bounds the directory: prune evicts down to it', () => {
    const directory = next()
    const backend = open(`disk://${urlPath(directory)}?maxBytes=20000&pruneInterval=false`)
    for (let i = 0; i < 50; i++) backend.set(`key-${i}`, new Uint8Array(2000), undefined)
    const report = backend.prune()
    expect(report.evicted).toBeGreaterThan(0)
    const left = Array.from({ length: 50 }, (_, i) => backend.get(`key-${i}`)).filter(Boolean)
    expect(left.length).toBeLessThan(50)
  })

  it('refuses unknown, ill-typed, repeated and out-of-range options', () => {
    const at = `disk://${urlPath(next())}`
    expect(refusal(`${at}?maxByte=1`).message).toMatch(
      /unknown option "maxByte" \(did you mean "maxBytes"\?\)/,
    )
    expect(refusal(`${at}?maxBytes=lots`).message).toMatch(/maxBytes.*whole number/)
    expect(refusal(`${at}?maxBytes=0`).message).toMatch(/maxBytes must be a positive integer/)
    expect(refusal(`${at}?openFiles=-1`).message).toMatch(/openFiles/)
    expect(refusal(`${at}?busyTimeout=soon`).message).toMatch(/busyTimeout.*duration/)
    expect(refusal(`${at}?lockTimeout=false`).message).toMatch(/lockTimeout/)
    expect(refusal(`${at}?pruneInterval=never`).message).toMatch(/pruneInterval.*or false/)
    expect(refusal(`${at}?openFiles=1&openFiles=2`).message).toMatch(/"openFiles" is given 2 times/)
    expect(refusal(`${at}?directory=/tmp/x`).message).toMatch(/the directory is the path of the URL/)
    expect(refusal(`${at}?onCorruptFile=log`).message).toMatch(/onCorruptFile is a function/)
  })

  it('a refused URL creates no directory', () => {
    const directory = next()
    refusal(`disk://${urlPath(directory)}?maxBytes=nope`)
    expect(existsSync(directory)).toBe(false)
  })
})

describe('backendFromUrl (core) for disk:', () => {
  it('loads this package and builds the same backend as DiskBackend.fromUrl', () => {
    const directory = next()
    const url = `disk://${urlPath(directory)}?maxBytes=5000000&openFiles=8&pruneInterval=false`
    const viaCore = backendFromUrl(url, { resolveFrom: import.meta.url }) as DiskBackend
    opened.push(viaCore)
    const direct = open(url)
    expect(viaCore.constructor.name).toBe('DiskBackend')
    expect(viaCore.storeId).toBe(direct.storeId)
    expect(settingsOf(viaCore)).toEqual(settingsOf(direct))
    viaCore.set('k', bytes('shared'), undefined)
    expect(text(direct.get('k'))).toBe('shared')
    expect(() => backendFromUrl(`${url}&openFile=1`, { resolveFrom: import.meta.url })).toThrow(
      /did you mean "openFiles"/,
    )
  })
})
