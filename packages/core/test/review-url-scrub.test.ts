import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BackendUnavailableError, backendFromUrl, RapideError, registerBackendScheme } from '../src/index.js'

// Review of setup by URL (core): backendFromUrl promises that no message, stack or cause reaching the
// caller quotes the URL's password or a secret query value, whatever the opener threw.

const SECRET = 'Sup3rSecretPw'

function thrownBy(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const everything = (value: unknown) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })

describe('backendFromUrl: secrets deep in what an opener throws', () => {
  it('a typed error whose cause chain quotes the URL five levels down', () => {
    registerBackendScheme('review-url-deep', (url) => {
      let error = new Error(`driver could not connect to ${url}`)
      for (let level = 0; level < 5; level++) error = new Error(`retry ${level} failed`, { cause: error })
      throw new BackendUnavailableError('cannot open the store', error)
    })
    const error = thrownBy(() => backendFromUrl(`review-url-deep://app:${SECRET}@host`))
    expect(RapideError.isInstance(error)).toBe(true)
    expect(everything(error)).not.toContain(SECRET)
  })

  it('a secret query value quoted decoded (a + or %2B in a token)', () => {
    registerBackendScheme('review-url-token', (url) => {
      const token = new URL(url).searchParams.get('token')
      throw new Error(`token ${token} was refused`)
    })
    const error = thrownBy(() => backendFromUrl(`review-url-token://host/db?token=${SECRET}%2Babc%2F9`))
    expect(RapideError.isInstance(error)).toBe(true)
    expect(everything(error)).not.toContain(SECRET)
  })
})
