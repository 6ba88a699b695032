import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  BackendUnavailableError,
  backendFromUrl,
  InvalidOptionError,
  InvalidTtlError,
  RapideError,
} from '@rapide/core'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { SqliteBackend } from '../src/index.js'

const directory = mkdtempSync(join(tmpdir(), 'rapide-sqlite-url-'))
const opened: SqliteBackend[] = []
afterAll(() => {
  for (const backend of opened) backend.close()
  rmSync(directory, { recursive: true, force: true })
})
let files = 0
const freshPath = (name = `db-${files++}.sqlite`) => join(directory, name)
/** A file's path as a URL writes it (percent-encoded). */
const urlPath = (path: string) => pathToFileURL(path).pathname
const bytes = (text: string) => new Uint8Array(Buffer.from(text))
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : Buffer.from(value).toString()

function open(url: string): SqliteBackend {
  const backend = SqliteBackend.fromUrl(url)
  opened.push(backend)
  return backend
}

/** The settings a backend acts on (private): what the URL's options became. */
function settingsOf(backend: SqliteBackend): Record<string, unknown> {
  return (backend as unknown as { settings: Record<string, unknown> }).settings
}

/** The error opening `url` throws: an `InvalidOptionError` (or `InvalidTtlError`) never showing `secret`. */
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

function inDirectory<T>(dir: string, body: () => T): T {
  const before = process.cwd()
  process.chdir(dir)
  try {
    return body()
  } finally {
    process.chdir(before)
  }
}

describe('SqliteBackend.fromUrl: the file', () => {
  it('sqlite:///absolute/path.db creates that file, shared with a second instance', () => {
    const path = freshPath()
    const url = `sqlite://${urlPath(path)}`
    const first = open(url)
    expect(first.path).toBe(path)
    expect(existsSync(path)).toBe(true)
    expect(first.capabilities).toMatchObject({ persistent: true, shared: true })
    first.set('k', bytes('v'), undefined)
    const second = open(url)
    expect(text(second.get('k'))).toBe('v')
    expect(second.storeId).toBe(first.storeId)
    expect(first.storeId).toMatch(/^sqlite:.*#rapide_cache$/)
  })

  it('sqlite:/absolute/path.db (one slash) is the same file', () => {
    const path = freshPath()
    expect(open(`sqlite:${urlPath(path)}`).path).toBe(path)
  })

  it('decodes percent-escapes in the file name', () => {
    const path = freshPath('my cache #2 ?é.sqlite')
    const url = `sqlite://${urlPath(path)}`
    expect(url).toContain('my%20cache%20%232%20%3F')
    expect(open(url).path).toBe(path)
    expect(existsSync(path)).toBe(true)
  })

  it('sqlite:./relative.db and sqlite:relative.db are resolved against the working directory', () => {
    const project = freshPath('project')
    mkdirSync(project)
    const [dotted, plain] = inDirectory(project, () => [open('sqlite:./a.db'), open('sqlite:data/b%20b.db')])
    expect(dotted!.path).toBe(join(project, 'a.db'))
    expect(plain!.path).toBe(join(project, 'data', 'b b.db'))
    expect(existsSync(join(project, 'data', 'b b.db'))).toBe(true)
  })

  it('sqlite:// and sqlite: alone are the default file', () => {
    const project = freshPath('app')
    mkdirSync(join(project, 'node_modules'), { recursive: true })
    const expected = join(project, 'node_modules', '.cache', 'rapide', 'cache.sqlite')
    const [slashes, bare] = inDirectory(project, () => [
      open('sqlite://'),
      open('sqlite:?sweepInterval=false'),
    ])
    expect(slashes!.path).toBe(expected)
    expect(bare!.path).toBe(expected)
    expect(existsSync(expected)).toBe(true)
  })

  it('sqlite::memory: and sqlite://:memory: are private in-memory databases', () => {
    for (const url of ['sqlite::memory:', 'sqlite://:memory:', 'SQLITE://:memory:?table=t1']) {
      const a = open(url)
      const b = open(url)
      expect(a.path).toBe(':memory:')
      expect(a.storeId).toBeUndefined()
      expect(a.capabilities).toMatchObject({ persistent: false, shared: false })
      a.set('k', bytes('v'), undefined)
      expect(text(a.get('k'))).toBe('v')
      expect(b.get('k')).toBeUndefined()
    }
    expect(settingsOf(open('sqlite::memory:?table=t2&maxEntries=5')).bounds).toEqual({
      maxEntries: 5,
      maxBytes: undefined,
    })
  })

  it.runIf(process.platform === 'win32')('sqlite:///C:/path.db is a drive path on Windows', () => {
    const path = freshPath()
    expect(open(`sqlite://${urlPath(path)}`).path).toBe(path)
  })

  it('refuses a host, credentials, a fragment, ~, a file called :memory: and malformed escapes', () => {
    expect(refusal('sqlite://cache.db').message).toMatch(/not a host \("cache.db"\).*sqlite:\/\/\/absolute/)
    expect(refusal('sqlite://admin:secret@db.internal/app.db').message).toMatch(/no credentials/)
    expect(refusal('sqlite://admin:secret@db.internal/app.db').message).toContain('admin:***@')
    expect(refusal(`sqlite://${urlPath(freshPath())}#x`).message).toMatch(/fragment.*%23/)
    expect(refusal('sqlite:~/cache.db').message).toMatch(/~ is not expanded/)
    expect(refusal('sqlite:///:memory:').message).toMatch(/sqlite::memory:/)
    expect(refusal('sqlite:///tmp/%E0%A4%A.db').message).toMatch(/malformed percent-escape/)
    expect(refusal('sqlite:///tmp/a%00.db').message).toMatch(/NUL/)
    expect(refusal('sqlite3:///tmp/a.db').message).toMatch(/not a sqlite: URL/)
  })
})

describe('SqliteBackend.fromUrl: options', () => {
  it('reads every option into the settings the constructor would make of it', () => {
    const path = freshPath()
    const fromUrl = open(
      `sqlite://${urlPath(path)}?table=app_cache&busyTimeout=3s&maxEntries=1000&maxBytes=1000000&sweepInterval=1m&onCorrupt=rebuild&readCache=64&fileCheckInterval=250ms`,
    )
    const inCode = new SqliteBackend({
      path,
      table: 'app_cache',
      busyTimeout: '3s',
      maxEntries: 1000,
      maxBytes: 1_000_000,
      sweepInterval: '1m',
      onCorrupt: 'rebuild',
      readCache: 64,
      fileCheckInterval: '250ms',
    })
    opened.push(inCode)
    expect(settingsOf(fromUrl)).toEqual(settingsOf(inCode))
    expect(settingsOf(fromUrl)).toMatchObject({
      table: 'app_cache',
      busyTimeoutMs: 3000,
      bounds: { maxEntries: 1000, maxBytes: 1_000_000 },
      sweepIntervalMs: 60_000,
      onCorrupt: 'rebuild',
      readCacheSize: 64,
      fileCheckMs: 250,
    })
    expect(fromUrl.storeId).toMatch(/#app_cache$/)
  })

  it('table names the table the entries go to', () => {
    const path = freshPath()
    const backend = open(`sqlite://${urlPath(path)}?table=shop_cache`)
    backend.set('k', bytes('v'), undefined)
    expect(backend.database.prepare('SELECT count(*) FROM shop_cache').pluck().get()).toBe(1)
  })

  it('maxEntries from the URL bounds the table: a sweep evicts the oldest', () => {
    const backend = open(`sqlite://${urlPath(freshPath())}?maxEntries=10&sweepInterval=false`)
    for (let i = 0; i < 30; i++) backend.set(`key-${i}`, bytes(String(i)), undefined)
    backend.sweep()
    const left = Array.from({ length: 30 }, (_, i) => backend.get(`key-${i}`)).filter(Boolean)
    expect(left.length).toBeLessThanOrEqual(10)
    expect(text(backend.get('key-29'))).toBe('29')
  })

  it('readCache=false and sweepInterval=false turn those off; durations may be seconds', () => {
    const backend = open(
      `sqlite://${urlPath(freshPath())}?readCache=false&sweepInterval=false&busyTimeout=1.5`,
    )
    expect(settingsOf(backend)).toMatchObject({
      readCacheSize: undefined,
      sweepIntervalMs: undefined,
      busyTimeoutMs: 1500,
    })
  })

  it('onCorrupt=rebuild replaces a file that is not a database; the default refuses it', () => {
    const path = freshPath()
    writeFileSync(path, 'this is not a database, just text long enough to look like a file header')
    expect(() => open(`sqlite://${urlPath(path)}`)).toThrow(BackendUnavailableError)
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const backend = open(`sqlite://${urlPath(path)}?onCorrupt=rebuild`)
      backend.set('k', bytes('v'), undefined)
      expect(text(backend.get('k'))).toBe('v')
    } finally {
      warn.mockRestore()
    }
  })

  it('refuses unknown, ill-typed, repeated and out-of-range options', () => {
    const at = `sqlite://${urlPath(freshPath())}`
    expect(refusal(`${at}?maxEntrie=1`).message).toMatch(
      /unknown option "maxEntrie" \(did you mean "maxEntries"\?\)/,
    )
    expect(refusal(`${at}?maxEntries=ten`).message).toMatch(/maxEntries.*whole number/)
    expect(refusal(`${at}?maxBytes=0`).message).toMatch(/maxBytes must be a positive integer/)
    expect(refusal(`${at}?table=drop%20table`).message).toMatch(/table "drop table" must be letters/)
    expect(refusal(`${at}?onCorrupt=ignore`).message).toMatch(/onCorrupt.*throw, rebuild/)
    expect(refusal(`${at}?busyTimeout=later`).message).toMatch(/busyTimeout/)
    expect(refusal(`${at}?sweepInterval=never`).message).toMatch(/sweepInterval.*or false/)
    expect(refusal(`${at}?readCache=lots`).message).toMatch(/readCache.*whole number or false/)
    expect(refusal(`${at}?readCache=0`).message).toMatch(/readCache must be a positive integer/)
    expect(refusal(`${at}?fileCheckInterval=often`).message).toMatch(/fileCheckInterval/)
    expect(refusal(`${at}?table=a&table=b`).message).toMatch(/"table" is given 2 times/)
    expect(refusal(`${at}?path=/tmp/x.db`).message).toMatch(/the file is the path of the URL/)
    expect(refusal(`${at}?database=x`).message).toMatch(/pass it to new SqliteBackend\(\{ database \}\)/)
    expect(refusal('sqlite::memory:?maxEntries=x').message).toMatch(/maxEntries/)
  })

  it('a refused URL creates no file', () => {
    const path = freshPath()
    refusal(`sqlite://${urlPath(path)}?maxEntries=nope`)
    expect(existsSync(path)).toBe(false)
  })
})

describe('backendFromUrl (core) for sqlite:', () => {
  it('loads this package and builds the same backend as SqliteBackend.fromUrl', () => {
    const url = `sqlite://${urlPath(freshPath())}?table=t&maxEntries=50&sweepInterval=false`
    const viaCore = backendFromUrl(url, { resolveFrom: import.meta.url }) as SqliteBackend
    opened.push(viaCore)
    const direct = open(url)
    expect(viaCore.constructor.name).toBe('SqliteBackend')
    expect(viaCore.storeId).toBe(direct.storeId)
    expect(settingsOf(viaCore)).toEqual(settingsOf(direct))
    viaCore.set('k', bytes('shared'), undefined)
    expect(text(direct.get('k'))).toBe('shared')
    const memory = backendFromUrl('sqlite::memory:', { resolveFrom: import.meta.url }) as SqliteBackend
    opened.push(memory)
    expect(memory.path).toBe(':memory:')
    expect(() => backendFromUrl(`${url}&tabel=x`, { resolveFrom: import.meta.url })).toThrow(
      /did you mean "table"/,
    )
  })
})
