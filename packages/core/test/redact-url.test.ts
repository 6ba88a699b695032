import { describe, expect, it } from 'vitest'
import { redactUrl } from '../src/url/redact-url.js'

describe('redactUrl', () => {
  it('replaces the password and keeps the user name, the hosts, the path and the query', () => {
    expect(redactUrl('redis://app:s3cret@cache.internal:6379/0')).toBe(
      'redis://app:***@cache.internal:6379/0',
    )
    expect(redactUrl('rediss://app:s3cret@cache.internal/2?timeout=1s')).toBe(
      'rediss://app:***@cache.internal/2?timeout=1s',
    )
    expect(redactUrl('redis+cluster://app:s3cret@h1:7000,h2:7001?timeout=1s')).toBe(
      'redis+cluster://app:***@h1:7000,h2:7001?timeout=1s',
    )
    expect(redactUrl('redis://app:s3cret@[::1]:6379')).toBe('redis://app:***@[::1]:6379')
  })

  it('hides a password given without a user, and a lone token (which some servers take as the password)', () => {
    expect(redactUrl('redis://:s3cret@cache:6379')).toBe('redis://:***@cache:6379')
    expect(redactUrl('redis://s3cret@cache:6379')).toBe('redis://***@cache:6379')
  })

  it('hides a password holding "@" or ":" (everything up to the last "@" of the authority)', () => {
    expect(redactUrl('redis://app:p@ss:w@rd@cache:6379')).toBe('redis://app:***@cache:6379')
    expect(redactUrl('redis://app:p%40ss@cache:6379')).toBe('redis://app:***@cache:6379')
  })

  it('leaves a URL without credentials as it is', () => {
    for (const url of [
      'mem://?maxEntries=10',
      'disk:///var/cache/app',
      'sqlite::memory:',
      'sqlite:./cache.db',
      'redis://cache:6379/1',
      '',
      'not a url',
    ]) {
      expect(redactUrl(url)).toBe(url)
    }
  })

  // Text whose credentials are not in a `scheme://…@` authority: everything up to the last "@" is hidden.
  it('hides the password of text without "//" (a forgotten scheme, a single slash)', () => {
    expect(redactUrl('app:s3cret@cache:6379')).not.toContain('s3cret')
    expect(redactUrl('redis:/app:s3cret@cache:6379')).not.toContain('s3cret')
  })
  it('hides the password of a protocol-relative URL', () => {
    expect(redactUrl('//app:s3cret@cache:6379')).not.toContain('s3cret')
  })
  it('hides a password holding an unencoded "/", "?" or "#", which ends the authority early', () => {
    expect(redactUrl('redis://app:s3/cret@cache:6379')).not.toContain('cret')
    expect(redactUrl('redis://app:s3?cret@cache:6379')).not.toContain('cret')
    expect(redactUrl('redis://app:s3#cret@cache:6379')).not.toContain('cret')
  })
})
