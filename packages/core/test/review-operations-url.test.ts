import { describe, expect, it } from 'vitest'
import {
  backendFromUrl,
  createCache,
  InvalidOptionError,
  RapideError,
  readUrlOptions,
  redactUrl,
  registerBackendScheme,
} from '../src/index.js'
import { FullMapBackend } from './support/backends.js'

// Review of setup by URL: a password must never reach a message, whatever the URL looks like (passwords
// are often generated: base64 holds `/` and `+`; people paste them unencoded); a backend the call opened
// is closed whatever later step fails; query options are read without silent loss.

const SECRET = 'hunter2'

/** Messages of `error` and its causes, as a log line of it would show them. */
function messagesOf(error: unknown): string {
  const parts: string[] = []
  for (let e = error as { message?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    parts.push(String(e.message))
    if (parts.length > 5) break
  }
  return parts.join(' | ')
}

function thrownBy(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('redactUrl: the password never shows', () => {
  it.each([
    ['a / in the password (base64)', `redis://app:${SECRET}/x+y@cache:6379`],
    ['a # in the password', `redis://app:${SECRET}#x@cache:6379`],
    ['a ? in the password', `redis://app:${SECRET}?x@cache:6379`],
    ['no // after the scheme', `redis:app:${SECRET}@cache:6379`],
    ['leading whitespace (an environment variable)', ` redis://app:${SECRET}@cache:6379`],
    ['a leading newline', `\nredis://app:${SECRET}@cache:6379`],
  ])('%s', (_name, url) => {
    expect(redactUrl(url)).not.toContain(SECRET)
  })

  it('a password in the query string (as many drivers take it) does not show either', () => {
    expect(redactUrl(`redis://cache:6379/0?password=${SECRET}`)).not.toContain(SECRET)
  })
})

describe('backendFromUrl: errors never show the password', () => {
  it('an unknown scheme with leading whitespace or an unencoded / in the password', () => {
    for (const url of [` redsi://app:${SECRET}@cache`, `redsi://app:${SECRET}/x@cache`]) {
      const error = thrownBy(() => backendFromUrl(url))
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(messagesOf(error)).not.toContain(SECRET)
    }
  })

  it('a registered scheme whose opener throws a plain Error quoting its URL', () => {
    registerBackendScheme('reviewthrows', (url) => {
      throw new Error(`cannot connect to ${url}`)
    })
    const error = thrownBy(() => backendFromUrl(`reviewthrows://app:${SECRET}@host`))
    expect(messagesOf(error)).not.toContain(SECRET)
  })

  it('a built-in backend refusing a URL whose password holds a / (mem:, through the memory package)', () => {
    // The memory package builds its messages with core's redactUrl.
    const resolveFrom = new URL('../../backend-memory/package.json', import.meta.url)
    const error = thrownBy(() => backendFromUrl(`mem://app:${SECRET}/x@host`, { resolveFrom }))
    // From the memory package's copy of core: recognised by its marker and code.
    expect(RapideError.isInstance(error) && error.code).toBe(new InvalidOptionError('').code)
    expect(messagesOf(error)).not.toContain(SECRET)
  })
})

class ClosingBackend extends FullMapBackend {
  closed = 0
  constructor() {
    super(true)
  }
  close(): void {
    this.closed++
  }
}

describe('createCache closes a backend it opened when a later step fails', () => {
  it('an instrumentation whose attach throws', async () => {
    const opened: ClosingBackend[] = []
    registerBackendScheme('reviewattach', () => {
      const backend = new ClosingBackend()
      opened.push(backend)
      return backend
    })
    const attachFails = {
      attach() {
        throw new Error('meter provider missing')
      },
    }
    expect(() =>
      createCache({ domainKey: 'URL', backend: 'reviewattach://x', instrumentation: attachFails }),
    ).toThrow('meter provider missing')
    expect(opened).toHaveLength(1)
    await Promise.resolve() // closed right after the refusal, off the caller's stack
    expect(opened[0]!.closed).toBe(1)
  })

  it('a refused backend whose close throws synchronously: the refusal is what the caller sees', () => {
    registerBackendScheme('reviewclosethrows', () => {
      const backend = new ClosingBackend()
      ;(backend as unknown as { getMany?: unknown }).getMany = undefined // refused by the checks
      backend.close = () => {
        throw new Error('close failed')
      }
      return backend
    })
    expect(() => createCache({ domainKey: 'URL', backend: 'reviewclosethrows://x' })).toThrow(
      /getMany|batch/i,
    )
  })
})

describe('readUrlOptions', () => {
  const spec = { maxEntries: 'integer', ratio: 'number', timeout: 'duration' } as const

  it('does not silently round a whole number beyond 2^53', () => {
    expect(() =>
      readUrlOptions(new URLSearchParams('maxEntries=9007199254740993'), spec, 'mem: URL'),
    ).toThrow(InvalidOptionError)
  })
})
