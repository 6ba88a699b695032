import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidOptionError, InvalidTtlError, RapideError } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteOptionsFromUrl } from '../src/from-url.js'
import { SqliteBackend } from '../src/index.js'

// Review of setup by URL (SQLite): a URL opens the file its README row says, or is refused.

const directory = mkdtempSync(join(tmpdir(), 'rapide-sqlite-review-url-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

function refused(url: string): RapideError {
  let caught: unknown
  try {
    SqliteBackend.fromUrl(url).close()
  } catch (error) {
    caught = error
  }
  expect(RapideError.isInstance(caught)).toBe(true)
  expect([InvalidOptionError, InvalidTtlError].some((type) => caught instanceof type)).toBe(true)
  return caught as RapideError
}

describe('sqlite: URL paths', () => {
  it('four slashes, dot segments, a trailing slash and an encoded slash all name one absolute file', () => {
    expect(sqliteOptionsFromUrl('sqlite:////srv/cache/app.db').path).toBe('/srv/cache/app.db')
    expect(sqliteOptionsFromUrl('sqlite:///srv/tmp/../cache/./app.db').path).toBe('/srv/cache/app.db')
    expect(sqliteOptionsFromUrl('sqlite:///srv/cache/app.db/').path).toBe('/srv/cache/app.db')
    expect(sqliteOptionsFromUrl('sqlite:///srv%2Fcache%2Fapp.db').path).toBe('/srv/cache/app.db')
    expect(sqliteOptionsFromUrl('SQLite:///srv/cache/app.db').path).toBe('/srv/cache/app.db')
  })

  it('refuses a NUL, an encoded ~ and an encoded :memory: file name', () => {
    expect(() => sqliteOptionsFromUrl('sqlite:///srv/app%00.db')).toThrow(InvalidOptionError)
    expect(() => sqliteOptionsFromUrl('sqlite:%7E/app.db')).toThrow(InvalidOptionError)
    expect(() => sqliteOptionsFromUrl('sqlite:%3Amemory%3A')).toThrow(InvalidOptionError)
  })
})

describe('sqlite: URL options', () => {
  it('values the constructor refuses are refused, not turned into something else, before the file exists', () => {
    const path = join(directory, 'options.db')
    for (const query of [
      'table=',
      'table=a+b',
      'table=x;drop',
      'readCache=0',
      'readCache=99999999999999999999',
      'readCache=',
      'maxEntries=0',
      'maxEntries=',
      'sweepInterval=0',
      'busyTimeout=1e400',
      'onCorrupt=REBUILD',
      'MaxEntries=5',
    ]) {
      refused(`sqlite://${path}?${query}`)
    }
    expect(existsSync(path)).toBe(false)
  })
})
