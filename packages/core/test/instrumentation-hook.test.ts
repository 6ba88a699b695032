import { AsyncLocalStorage } from 'node:async_hooks'
import { describe, expect, it } from 'vitest'
import {
  type CacheEvents,
  type CacheInstrumentation,
  type ComputeInfo,
  createCache,
  InvalidOptionError,
} from '../src/index.js'
import { AsyncBytesBackend, FullMapBackend } from './support/backends.js'

// The instrumentation hook tracing integrations are built on: `compute` wraps every computation (and
// nothing else), synchronously, with what the computation is; `attach` sees the cache once.

describe('instrumentation: the compute hook', () => {
  it('wraps each computation of a synchronous function synchronously, never a hit', () => {
    const seen: ComputeInfo[] = []
    const plugin: CacheInstrumentation = {
      compute(info, run) {
        seen.push(info)
        return run()
      },
    }
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(true),
      instrumentation: plugin,
    })
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    expect(double(2)).toBe(4) // still synchronous
    expect(double(2)).toBe(4) // a hit: no computation
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      domainKey: 'HOOK',
      functionKey: 'DOUBLE',
      backend: 'full-map',
      refresh: false,
    })
    expect(seen[0]!.key).toContain('DOUBLE')
  })

  it('runs the function inside the hook, so context the hook sets is seen by the function (sync and async)', async () => {
    const storage = new AsyncLocalStorage<string>()
    const plugin: CacheInstrumentation = {
      compute: (info, run) => storage.run(`span:${info.functionKey}`, run),
    }
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new AsyncBytesBackend(),
      instrumentation: plugin,
    })
    const whereSync = cache.wrap('SYNC', () => storage.getStore())
    const whereAsync = cache.wrap('ASYNC', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      return storage.getStore()
    })
    expect(await whereSync()).toBe('span:SYNC')
    expect(await whereAsync()).toBe('span:ASYNC')
    await cache.close()
  })

  it('nests several instrumentations, the first outermost, and lets each attach once', () => {
    const order: string[] = []
    const attached: string[] = []
    const make = (name: string): CacheInstrumentation => ({
      attach: (cache) => attached.push(`${name}:${cache.domainKey}`),
      compute(_info, run) {
        order.push(`${name}>`)
        const out = run()
        order.push(`<${name}`)
        return out
      },
    })
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(false),
      instrumentation: [make('a'), make('b')],
    })
    cache.wrap('F', () => order.push('run'))()
    expect(order).toEqual(['a>', 'b>', 'run', '<b', '<a'])
    expect(attached).toEqual(['a:HOOK', 'b:HOOK'])
  })

  it('a hook that fails before running the function is reported and the function still runs once', () => {
    let runs = 0
    const errors: CacheEvents['error'][] = []
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(true),
      instrumentation: {
        compute() {
          throw new Error('tracer broken')
        },
      },
    })
    cache.on('error', (event) => errors.push(event))
    expect(cache.wrap('F', () => ++runs)()).toBe(1)
    expect(runs).toBe(1)
    expect(errors.map((e) => e.operation)).toEqual(['instrumentation'])
  })

  it("the function's own error goes through the hook unchanged", async () => {
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new AsyncBytesBackend(),
      instrumentation: { compute: (_info, run) => run() },
    })
    const boom = new Error('boom')
    await expect(
      cache.wrap('F', () => {
        throw boom
      })(),
    ).rejects.toBe(boom)
    await cache.close()
  })

  it('refuses what is not an instrumentation', () => {
    for (const bad of [null, 42, { compute: 'no' }, [{ attach: 1 }]]) {
      expect(() =>
        createCache({ domainKey: 'HOOK', backend: new FullMapBackend(false), instrumentation: bad as never }),
      ).toThrow(InvalidOptionError)
    }
  })
})

describe('the compute event', () => {
  it('reports each computation with its duration, its error, and whether it was a background refresh', async () => {
    const events: CacheEvents['compute'][] = []
    const cache = createCache({ domainKey: 'EVENT', backend: new AsyncBytesBackend() })
    cache.on('compute', (event) => events.push(event))
    const slow = cache.wrap('SLOW', async (n: number) => {
      await new Promise((resolve) => setTimeout(resolve, 15))
      if (n < 0) throw new Error('negative')
      return n
    })
    await slow(1)
    await slow(1) // hit: no event
    await expect(slow(-1)).rejects.toThrow('negative')
    expect(events).toHaveLength(2)
    expect(events[0]).toMatchObject({ functionKey: 'SLOW', refresh: false })
    expect(events[0]!.ms).toBeGreaterThanOrEqual(10)
    expect(events[0]!.error).toBeUndefined()
    expect((events[1]!.error as Error).message).toBe('negative')
    await cache.close()
  })

  it('marks background refreshes', async () => {
    const events: CacheEvents['compute'][] = []
    const cache = createCache({ domainKey: 'EVENT', backend: new FullMapBackend(true) })
    cache.on('compute', (event) => events.push(event))
    let n = 0
    const read = cache.wrap('READ', () => ++n, { ttl: 0.05, staleWhileRevalidate: 10 })
    read()
    await new Promise((resolve) => setTimeout(resolve, 80))
    read() // stale: refreshed in the background
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(events.map((e) => e.refresh)).toEqual([false, true])
  })
})
