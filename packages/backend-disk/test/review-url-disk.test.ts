import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidOptionError, InvalidTtlError, RapideError } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { diskOptionsFromUrl } from '../src/from-url.js'
import { DiskBackend } from '../src/index.js'

// Review of setup by URL (disk): a URL opens the directory its README row says, or is refused.

const directory = mkdtempSync(join(tmpdir(), 'rapide-disk-review-url-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

function refused(url: string): RapideError {
  let caught: unknown
  try {
    DiskBackend.fromUrl(url).close()
  } catch (error) {
    caught = error
  }
  expect(RapideError.isInstance(caught)).toBe(true)
  expect([InvalidOptionError, InvalidTtlError].some((type) => caught instanceof type)).toBe(true)
  return caught as RapideError
}

describe('disk: URL paths', () => {
  it('four slashes, dot segments, a trailing slash and an encoded slash all name one absolute directory', () => {
    expect(diskOptionsFromUrl('disk:////srv/cache/app').directory).toBe('/srv/cache/app')
    expect(diskOptionsFromUrl('disk:///srv/tmp/../cache/./app').directory).toBe('/srv/cache/app')
    expect(diskOptionsFromUrl('disk:///srv/cache/app/').directory).toBe('/srv/cache/app')
    expect(diskOptionsFromUrl('disk:///srv%2Fcache%2Fapp').directory).toBe('/srv/cache/app')
    expect(diskOptionsFromUrl('DISK:///srv/cache/app').directory).toBe('/srv/cache/app')
  })

  it('refuses disk://localhost/…, a NUL, an encoded ~ and a malformed escape', () => {
    for (const url of [
      'disk://localhost/srv/cache',
      'disk:///srv/a%00b',
      'disk:%7E/cache',
      'disk:///srv/%E0%A4',
    ]) {
      expect(() => diskOptionsFromUrl(url)).toThrow(InvalidOptionError)
    }
  })
})

describe('disk: URL options', () => {
  it('values the constructor refuses are refused, before the directory exists', () => {
    const path = join(directory, 'options')
    for (const query of [
      'maxBytes=0',
      'maxBytes=',
      'maxBytes=false',
      'openFiles=-1',
      'pruneInterval=0',
      'pruneInterval=true',
      'lockTimeout=1e400',
      'lockTimeout=-1',
      'MaxBytes=5',
      'directory=/elsewhere',
    ]) {
      refused(`disk://${path}?${query}`)
    }
    expect(existsSync(path)).toBe(false)
  })
})
