import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InvalidOptionError, readLocalPathUrl } from '../src/index.js'

// The URL rules every backend naming a local file or directory shares (disk and SQLite use them).

const names = { scheme: 'files', owner: 'FilesBackend', what: 'directory' } as const
const read = (url: string) => readLocalPathUrl(url, names)

describe('readLocalPathUrl', () => {
  it('reads absolute, relative and default paths, decoded, with the query apart', () => {
    expect(read('files:///srv/my%20cache?maxBytes=10')).toMatchObject({
      path: '/srv/my cache',
      written: '/srv/my%20cache',
    })
    expect(read('files:///srv/cache?maxBytes=10').query.get('maxBytes')).toBe('10')
    expect(read('files:/srv/cache').path).toBe('/srv/cache')
    expect(read('files:./cache').path).toBe(resolve('cache'))
    expect(read('FILES:cache').path).toBe(resolve('cache'))
    expect(read('files://').path).toBeUndefined()
    expect(read(' files: ').path).toBeUndefined()
  })

  it('refuses hosts, credentials, fragments, bad escapes, NUL, ~ and foreign Windows paths, hiding the password', () => {
    const refused = [
      'files://server/cache',
      'files://app:hunter2@/cache',
      'files:///cache#x',
      'files:///ca%zzche',
      'files:///ca%00che',
      'files:~/cache',
      'https:///cache',
    ]
    if (process.platform !== 'win32')
      refused.push('files:C:/cache', 'files:///C:/cache', 'files:\\\\server\\share')
    for (const url of refused) {
      let error: unknown
      try {
        read(url)
      } catch (caught) {
        error = caught
      }
      expect(error, url).toBeInstanceOf(InvalidOptionError)
      expect((error as Error).message).not.toContain('hunter2')
    }
    expect(() => read(42 as unknown as string)).toThrow(/FilesBackend.fromUrl: expected a URL string/)
  })
})
