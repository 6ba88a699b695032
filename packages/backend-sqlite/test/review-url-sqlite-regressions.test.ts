import { InvalidOptionError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { sqliteOptionsFromUrl } from '../src/from-url.js'

// Review of setup by URL (SQLite), the finding still open.

describe('sqlite: URL, in-memory databases', () => {
  it('sqlite::MEMORY: is not a file called ":MEMORY:" in the working directory', () => {
    // SQLite's name is case-sensitive while the scheme is not: a persistent, shared file is the opposite
    // of what the URL asks for. Either read it as memory or refuse it.
    for (const url of ['sqlite::MEMORY:', 'sqlite::Memory:', 'SQLITE::MEMORY:']) {
      let options: { path?: string } | undefined
      try {
        options = sqliteOptionsFromUrl(url)
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError)
        continue
      }
      expect(options.path).toBe(':memory:')
    }
  })
})
