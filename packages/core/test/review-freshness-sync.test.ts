import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type BackendV1, createCache } from '../src/index.js'
import { SyncMapBackend } from './support/backends.js'

const SECOND = 1000
beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
  })
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

/** Sync, persistent, bytes: shared coordination on a synchronous store (like SQLite / disk). */
class SyncBytes implements BackendV1 {
  readonly specificationVersion = 1 as const
  readonly name = 'sync-bytes'
  readonly capabilities = { sync: true, persistent: true, shared: false, inProcessValues: false } as const
  readonly data = new Map<string, { value: Uint8Array; expiresAt: number }>()
  get(key: string) {
    const e = this.data.get(key)
    return e && e.expiresAt > Date.now() ? e.value : undefined
  }
  set(key: string, value: Uint8Array, ttlMs: number | undefined) {
    this.data.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs })
  }
  delete(key: string) {
    return this.data.delete(key)
  }
}

for (const [name, make] of [
  ['local', () => new SyncMapBackend()],
  ['shared on a sync store', () => new SyncBytes()],
] as const) {
  describe(`sync stays sync (${name})`, () => {
    it('every verdict answers synchronously; background refreshes never run inside the call', async () => {
      const cache = createCache({ domainKey: 'D', backend: make() as never })
      let computations = 0
      let fail = false
      const f = cache.wrap(
        'F',
        (n: number) => {
          computations++
          vi.advanceTimersByTime(2000)
          if (fail) throw new Error('down')
          return n + computations
        },
        { ttl: '1m', staleWhileRevalidate: '1m', failSafe: '1h', earlyRefresh: true },
      )
      const answers: unknown[] = []
      answers.push(f(1))
      vi.advanceTimersByTime(30 * SECOND)
      vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON)
      answers.push(f(1))
      vi.advanceTimersByTime(25 * SECOND)
      vi.spyOn(Math, 'random').mockReturnValue(Number.MIN_VALUE) // early
      answers.push(f(1))
      expect(computations).toBe(1)
      await vi.advanceTimersByTimeAsync(1)
      expect(computations).toBe(2)
      vi.advanceTimersByTime(90 * SECOND) // stale
      answers.push(f(1))
      expect(computations).toBe(2)
      await vi.advanceTimersByTimeAsync(1)
      expect(computations).toBe(3)
      vi.advanceTimersByTime(10 * 60 * SECOND) // fallback
      fail = true
      answers.push(f(1))
      for (const a of answers) expect(a instanceof Promise).toBe(false)
      expect(answers).toEqual([2, 2, 2, 3, 4])
      await cache.close()
    })
  })
}
