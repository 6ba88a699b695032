import { type CacheEvents, createCache } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { SqliteBackend } from '../src/index.js'

// Fail-safe and soft timeout on SQLite `:memory:`: a byte-storing store of one process, so the kept result
// is checked under local coordination (the core's test with a copying store pins the bytes comparison).

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('fail-safe and soft timeout on SQLite :memory:', () => {
  it('a failing computation answers the last good result', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SqliteBackend({ path: ':memory:' }) })
    const stale: CacheEvents['stale'][] = []
    cache.on('stale', (event) => stale.push(event))
    let fail = false
    const f = cache.wrap(
      'F',
      (n: number) => {
        if (fail) throw new Error('source down')
        return n * 2
      },
      { ttl: 0.05, failSafe: '1h' },
    )
    expect(f(21)).toBe(42)
    await sleep(80)
    fail = true
    expect(f(21)).toBe(42)
    expect(stale.map((event) => event.reason)).toEqual(['failSafe'])
    f.invalidate(21)
    expect(() => f(21)).toThrow('source down')
    await cache.close()
  })

  it('a slow computation answers the kept result after softTimeout', async () => {
    const cache = createCache({ domainKey: 'D', backend: new SqliteBackend({ path: ':memory:' }) })
    let version = 1
    const f = cache.wrap(
      'F',
      async (n: number) => {
        const seen = version
        if (seen > 1) await sleep(300)
        return `v${seen}-${n}`
      },
      { ttl: 0.05, failSafe: '1h', softTimeout: '50ms' },
    )
    expect(await f(1)).toBe('v1-1')
    await sleep(80)
    version = 2
    expect(await f(1)).toBe('v1-1')
    await sleep(350)
    expect(await f(1)).toBe('v2-1')
    await cache.close()
  })
})
