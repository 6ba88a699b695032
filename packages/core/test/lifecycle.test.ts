import { describe, expect, it } from 'vitest'
import { ClosedError, createCache } from '../src/index.js'
import { AsyncBytesBackend } from './support/backends.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A slow asynchronous store that refuses every operation once closed, as a real client does. */
class SlowClosingBackend extends AsyncBytesBackend {
  static last: SlowClosingBackend | undefined
  closedAt: number | undefined
  readonly writesAfterClose: string[] = []
  constructor() {
    super()
    SlowClosingBackend.last = this
  }
  private async slow<T>(what: string, run: () => Promise<T>): Promise<T> {
    await sleep(30)
    if (this.closedAt !== undefined) {
      this.writesAfterClose.push(what)
      throw new ClosedError('slow store')
    }
    return run()
  }
  override get(key: string) {
    return this.slow('get', () => super.get(key))
  }
  override set(key: string, value: Uint8Array, ttlMs: number | undefined) {
    return this.slow('set', () => super.set(key, value, ttlMs))
  }
  override setMany(entries: readonly { key: string; value: Uint8Array; ttlMs: number | undefined }[]) {
    return this.slow('setMany', () => super.setMany(entries))
  }
  async close(): Promise<void> {
    await sleep(50)
    this.closedAt = performance.now()
  }
}

describe('close()', () => {
  it('waits for every call that started before it: reads, computations and their writes', async () => {
    const cache = createCache({ domainKey: 'C', backend: SlowClosingBackend, onError: 'raise' })
    const f = cache.wrap('F', async (n: number) => n + 1)
    const g = cache.wrap('G', (n: number) => n * 2)
    const calls = [f(1), g(2), cache.get('k'), cache.set('k', 1)]
    await cache.close()
    const backend = SlowClosingBackend.last!
    // Under 'raise', nothing rejected with E_CLOSED: every call finished against an open store.
    expect(await Promise.all(calls)).toEqual([2, 4, undefined, undefined])
    expect(backend.writesAfterClose).toEqual([])
    expect(backend.data.size).toBeGreaterThan(0)
  })

  it('a second concurrent close() resolves only once the first has finished', async () => {
    const cache = createCache({ domainKey: 'C', backend: SlowClosingBackend })
    const f = cache.wrap('F', async (n: number) => n)
    const call = f(1)
    const order: string[] = []
    const first = cache.close().then(() => order.push('first'))
    const second = cache.close().then(() => order.push('second'))
    await second
    expect(SlowClosingBackend.last!.closedAt).toBeDefined()
    await first
    await call
    expect(order).toEqual(['first', 'second'])
    // And after close, calls are refused.
    await expect(f(2)).rejects.toMatchObject({ code: 'E_CLOSED' })
  })
})

describe('user callbacks never crash the process', () => {
  it('a listener that throws or returns a rejected promise is reported through the error event', async () => {
    const cache = createCache({ domainKey: 'L', backend: new AsyncBytesBackend() })
    const reported: { operation: string; code: unknown }[] = []
    cache.on('error', ({ operation, error }) =>
      reported.push({ operation, code: (error as { code?: unknown }).code }),
    )
    cache.on('miss', () => {
      throw new Error('sync listener bug')
    })
    cache.on('set', async () => {
      throw new Error('async listener bug')
    })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const f = cache.wrap('F', async (n: number) => n)
      expect(await f(1)).toBe(1)
      await sleep(20)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
    expect(reported).toEqual([
      { operation: 'listener:miss', code: 'E_CALLBACK_FAILED' },
      { operation: 'listener:set', code: 'E_CALLBACK_FAILED' },
    ])
  })

  it('a failing error listener becomes a process warning', async () => {
    const cache = createCache({ domainKey: 'L', backend: new AsyncBytesBackend() })
    cache.on('error', async () => {
      throw new Error('error listener bug')
    })
    cache.on('hit', () => {
      throw new Error('hit listener bug')
    })
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.message)
    process.on('warning', onWarning)
    try {
      const f = cache.wrap('F', async (n: number) => n)
      await f(1)
      await f(1)
      await sleep(20)
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).toContainEqual(expect.stringContaining('"error" listener failed: error listener bug'))
  })
})
