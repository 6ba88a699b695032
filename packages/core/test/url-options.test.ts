import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../src/errors.js'
import { readUrlOptions, type UrlOptionSpec } from '../src/url/url-options.js'

const SPEC: UrlOptionSpec = {
  maxEntries: 'integer',
  ratio: 'number',
  compress: 'boolean',
  timeout: 'duration',
  sweepInterval: 'duration-or-false',
  table: 'string',
  onCorrupt: ['throw', 'rebuild'],
}

const read = (query: string) => readUrlOptions(new URLSearchParams(query), SPEC, 'test: URL')

/** The message of the `InvalidOptionError` reading `query` throws. */
function refusal(query: string): string {
  let caught: unknown
  try {
    read(query)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(InvalidOptionError)
  const { message } = caught as Error
  expect(message.startsWith('test: URL')).toBe(true)
  return message
}

describe('readUrlOptions', () => {
  it('reads nothing from an empty query', () => {
    expect(read('')).toEqual({})
    expect(readUrlOptions(new URL('mem://'), SPEC, 'test: URL')).toEqual({})
  })

  it('reads each kind into what a constructor takes', () => {
    expect(
      read(
        'maxEntries=1000&ratio=0.25&compress=true&timeout=500ms&sweepInterval=false&table=app_cache&onCorrupt=rebuild',
      ),
    ).toEqual({
      maxEntries: 1000,
      ratio: 0.25,
      compress: true,
      timeout: '500ms',
      sweepInterval: false,
      table: 'app_cache',
      onCorrupt: 'rebuild',
    })
    expect(read('maxEntries=-3').maxEntries).toBe(-3) // the constructor judges the range
    expect(read('ratio=1e3').ratio).toBe(1000)
    expect(read('ratio=.5').ratio).toBe(0.5)
    expect(read('compress=1').compress).toBe(true)
    expect(read('compress=0').compress).toBe(false)
    expect(read('compress=false').compress).toBe(false)
  })

  it('reads durations as seconds (a number) or a duration string, and false where allowed', () => {
    expect(read('timeout=2').timeout).toBe(2)
    expect(read('timeout=1.5').timeout).toBe(1.5)
    for (const text of ['250ms', '30s', '5m', '1h', '1d', '1.5s'])
      expect(read(`timeout=${text}`).timeout).toBe(text)
    expect(read('sweepInterval=10m').sweepInterval).toBe('10m')
    expect(read('sweepInterval=30').sweepInterval).toBe(30)
  })

  it('reads a URL object as its query string', () => {
    expect(readUrlOptions(new URL('redis://u:p@h:6379/2?maxEntries=5&table=t'), SPEC, 'x')).toEqual({
      maxEntries: 5,
      table: 't',
    })
  })

  it('decodes values: percent-escapes and "+" as a space', () => {
    expect(read('table=a%20b').table).toBe('a b')
    expect(read('table=a+b').table).toBe('a b')
    expect(read('table=').table).toBe('')
  })

  it('refuses an unknown option, suggesting the name one typo away and listing the known ones', () => {
    expect(refusal('maxEntires=1')).toMatch(/unknown option "maxEntires" \(did you mean "maxEntries"\?\)/)
    expect(refusal('timout=1')).toMatch(/did you mean "timeout"/)
    const unrelated = refusal('family=6')
    expect(unrelated).toMatch(/unknown option "family"; known options: maxEntries, ratio, compress/)
    expect(unrelated).not.toMatch(/did you mean/)
  })

  it('refuses an option given twice, even with the same value', () => {
    expect(refusal('table=a&table=b')).toMatch(/option "table" is given 2 times/)
    expect(refusal('maxEntries=1&maxEntries=1&maxEntries=1')).toMatch(/"maxEntries" is given 3 times/)
  })

  it('refuses a value of the wrong kind, naming the option and quoting the value', () => {
    expect(refusal('maxEntries=ten')).toMatch(/option "maxEntries" must be a whole number, got "ten"/)
    for (const text of ['1.5', '1e3', '', ' 1', '0x10'])
      expect(refusal(`maxEntries=${encodeURIComponent(text)}`)).toMatch(/whole number/)
    for (const text of ['abc', 'Infinity', 'NaN', '', '1,5'])
      expect(refusal(`ratio=${encodeURIComponent(text)}`)).toMatch(/must be a number/)
    for (const text of ['yes', 'TRUE', 'on', ''])
      expect(refusal(`compress=${text}`)).toMatch(/must be true or false/)
    for (const text of ['soon', 'false', '5 minutes', '-1s', '']) {
      expect(refusal(`timeout=${encodeURIComponent(text)}`)).toMatch(
        /"timeout" must be seconds or a duration such as 500ms/,
      )
    }
    expect(refusal('sweepInterval=never')).toMatch(
      /"sweepInterval" must be seconds or a duration .* or false, got "never"/,
    )
    expect(refusal('onCorrupt=ignore')).toMatch(/"onCorrupt" must be one of throw, rebuild, got "ignore"/)
    expect(refusal('onCorrupt=REBUILD')).toMatch(/must be one of/)
  })

  it('never quotes the URL itself (it may hold a password)', () => {
    const url = new URL('redis://app:s3cret@cache:6379/0?timeout=later')
    expect(() => readUrlOptions(url, SPEC, 'redis: URL')).toThrow(InvalidOptionError)
    try {
      readUrlOptions(url, SPEC, 'redis: URL')
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret')
    }
    const unknown = new URL('redis://app:s3cret@cache:6379/0?password=x')
    expect(() => readUrlOptions(unknown, SPEC, 'redis: URL')).toThrow(/unknown option "password"/)
    try {
      readUrlOptions(unknown, SPEC, 'redis: URL')
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret')
    }
  })
})
