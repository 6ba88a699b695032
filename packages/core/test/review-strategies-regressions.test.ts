import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../src/index.js'
import { FullMapBackend } from './support/backends.js'

// Regressions found by the review of the second batch of strategies (rate limit, expiry management,
// the lock on synchronous stores, the freshness hit path).

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('never-die refreshes with the latest call', () => {
  for (const shared of [false, true]) {
    it(`what the key leaves out (excludeArgs) comes from the latest call (${shared ? 'shared' : 'local'})`, async () => {
      vi.useFakeTimers({
        toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
      })
      const cache = createCache({ domainKey: 'D', backend: new FullMapBackend(shared) })
      const seen: string[] = []
      const f = cache.wrap(
        'F',
        (id: number, token: { value: string }) => {
          seen.push(token.value)
          return `${id}`
        },
        { ttl: '100s', neverDie: { idle: '1h' }, excludeArgs: [1] },
      )
      f(1, { value: 'first' })
      for (let i = 0; i < 10; i++) {
        await vi.advanceTimersByTimeAsync(5_000)
        f(1, { value: `later-${i}` })
      }
      await vi.advanceTimersByTimeAsync(50_000)
      expect(seen.length).toBeGreaterThan(1)
      expect(seen[1]).toBe('later-9')
      await cache.close()
    })
  }
})

describe('freshness follows the clock', () => {
  it('with every timer faked, setting the system time alone moves it', () => {
    vi.useFakeTimers()
    const cache = createCache({ domainKey: 'D', backend: new FullMapBackend(true) })
    let computations = 0
    const f = cache.wrap('F', (n: number) => n + ++computations, { ttl: '10s', failSafe: '1h' })
    f(1)
    f(1)
    vi.setSystemTime(Date.now() + 60_000)
    f(1)
    expect(computations).toBe(2)
  })

  it('with only setTimeout faked (Date real), real time moves it', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const cache = createCache({ domainKey: 'D', backend: new FullMapBackend(true) })
    let computations = 0
    const f = cache.wrap('F', (n: number) => n + ++computations, { ttl: '50ms', failSafe: '1h' })
    f(1)
    f(1)
    const until = Date.now() + 120
    while (Date.now() < until) {
      // real time passes; no timer can fire
    }
    f(1)
    expect(computations).toBe(2)
  })

  it('an async loop that only awaits microtasks still sees time move', async () => {
    const cache = createCache({ domainKey: 'D', backend: new FullMapBackend(false) })
    let computations = 0
    const f = cache.wrap('F', async (n: number) => n + ++computations, { ttl: '20ms', failSafe: '1h' })
    const end = Date.now() + 300
    while (Date.now() < end) await f(1)
    expect(computations).toBeGreaterThan(3)
    await cache.close()
  })
})

describe('flushExpired on a synchronous store with many keys', () => {
  it('walks 400 000 keys without running out of stack', () => {
    class ManyKeys extends FullMapBackend {
      override keys(prefix: string): string[] {
        return Array.from({ length: 400_000 }, (_, i) => `${prefix}${i}}`)
      }
      override getMany(keys: readonly string[]): unknown[] {
        return keys.map(() => undefined)
      }
    }
    const cache = createCache({ domainKey: 'D', backend: new ManyKeys(true) })
    const f = cache.wrap('F', (n: number) => n, { ttl: '1h' })
    expect(f.flushExpired()).toBe(0)
  })
})

describe('the lock on a synchronous store, held by another process', () => {
  it('a failing read of the kept result computes under onError silent (reported), never throws', () => {
    vi.useFakeTimers()
    class FailingReads extends FullMapBackend {
      failReadsAfter = Infinity
      override getMany(keys: readonly string[]): unknown[] {
        if (this.failReadsAfter-- <= 0) throw new Error('read failed')
        return super.getMany(keys)
      }
    }
    const data: FullMapBackend['data'] = new Map()
    const backend = new FailingReads(true, data)
    const cache = createCache({ domainKey: 'D', backend })
    const errors: unknown[] = []
    cache.on('error', (event) => errors.push(event))
    let version = 1
    const f = cache.wrap('F', (n: number) => `v${version}-${n}`, { ttl: '10s', failSafe: '1h', lock: true })
    expect(f(1)).toBe('v1-1')
    vi.setSystemTime(Date.now() + 20_000)
    version = 2
    const lockKey = [...data.keys()].find((key) => key.includes(':r:'))!.replace(':r:', ':c:')
    data.set(lockKey, { value: Buffer.from('another process'), expiresAt: Date.now() + 60_000 })
    backend.failReadsAfter = 1 // the call's read passes; the check of the kept result fails
    expect(f(1)).toBe('v2-1')
    expect(errors.length).toBeGreaterThan(0)
  })
})

describe('soft timeout on a synchronous shared store whose check of the kept result fails', () => {
  it('the caller waits for the computation; the failure never escapes from the timer', async () => {
    vi.useFakeTimers({
      toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
    })
    class FailingReads extends FullMapBackend {
      failReadsAfter = Infinity
      override getMany(keys: readonly string[]): unknown[] {
        if (this.failReadsAfter-- <= 0) throw new Error('read failed')
        return super.getMany(keys)
      }
    }
    const backend = new FailingReads(true)
    const cache = createCache({ domainKey: 'D', backend })
    cache.on('error', () => {})
    let version = 1
    const f = cache.wrap(
      'F',
      async (n: number) => {
        const seen = version
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        return `v${seen}-${n}`
      },
      { ttl: '10s', failSafe: '1h', softTimeout: '100ms' },
    )
    const first = f(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await first).toBe('v1-1')
    vi.setSystemTime(Date.now() + 20_000)
    version = 2
    backend.failReadsAfter = 1 // the call's read passes; the soft timeout's check fails
    const answer = f(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await answer).toBe('v2-1')
    await cache.close()
  })
})

describe('fail-safe on a store of one process that hands out a new buffer at every read', () => {
  it('the kept result is recognised by its bytes', () => {
    vi.useFakeTimers()
    /** Synchronous, unshared, byte-storing (local coordination over bytes), copying on every read. */
    class CopyingBytes extends FullMapBackend {
      override readonly capabilities = {
        sync: true,
        persistent: false,
        shared: false,
        inProcessValues: false,
      } as const
      override get(key: string): unknown {
        const value = super.get(key)
        return value instanceof Uint8Array ? Buffer.from(value) : value
      }
    }
    const cache = createCache({ domainKey: 'D', backend: new CopyingBytes(false) })
    let fail = false
    const f = cache.wrap(
      'F',
      (n: number) => {
        if (fail) throw new Error('source down')
        return n * 2
      },
      { ttl: '10s', failSafe: '1h' },
    )
    expect(f(21)).toBe(42)
    vi.setSystemTime(Date.now() + 20_000)
    fail = true
    expect(f(21)).toBe(42)
  })
})
