import { describe, expect, it } from 'vitest'
import { type CacheEvents, type CacheInstrumentation, type ComputeInfo, createCache } from '../src/index.js'
import { FullMapBackend } from './support/backends.js'

// Review of the compute hook: "it never changes what a call answers", "must call run exactly once,
// synchronously, and return exactly what it returns". What happens when a plug-in gets that wrong, and
// whether the `refresh` flag holds. (What holds is in review-operations-lockin.test.ts.)

describe('instrumentation: a plug-in that breaks the hook contract does not change answers', () => {
  it('a hook that forgets to return run()’s result does not cache undefined', () => {
    const plugin: CacheInstrumentation = {
      compute<T>(_info: ComputeInfo, run: () => T): T {
        run() // the span ends here… and the return was forgotten
        return undefined as T
      },
    }
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(true),
      instrumentation: plugin,
    })
    const errors: CacheEvents['error'][] = []
    cache.on('error', (event) => errors.push(event))
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    expect(double(2)).toBe(4)
    expect(double(2)).toBe(4) // the hit must not be undefined either
    expect(errors.map((e) => e.operation)).toContain('instrumentation')
  })

  it('a hook that answers a promise for a synchronous function keeps the call synchronous', () => {
    const plugin: CacheInstrumentation = {
      // An `async` wrapper, as a tracer's startActiveSpan(name, async (span) => …) would be written.
      compute: (async (_info: ComputeInfo, run: () => unknown) => run()) as CacheInstrumentation['compute'],
    }
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(true),
      instrumentation: plugin,
    })
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    // Typed `number` on a synchronous store: a promise here is a type lie.
    expect(double(2)).toBe(4)
  })

  it('a hook that calls run twice does not run the function twice', () => {
    let runs = 0
    const plugin: CacheInstrumentation = {
      compute<T>(_info: ComputeInfo, run: () => T): T {
        run() // a retry wrapper, or a tracer bug
        return run()
      },
    }
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(true),
      instrumentation: plugin,
    })
    const count = cache.wrap('COUNT', () => ++runs)
    count()
    expect(runs).toBe(1)
  })

  it('a hook that throws after the function succeeded is reported, and the call answers the result', () => {
    const plugin: CacheInstrumentation = {
      compute<T>(_info: ComputeInfo, run: () => T): T {
        const out = run()
        throw new Error('exporter down') // span.end() failing
        // biome-ignore lint/correctness/noUnreachable: the hook's intent
        return out
      },
    }
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(true),
      instrumentation: plugin,
    })
    const errors: CacheEvents['error'][] = []
    cache.on('error', (event) => errors.push(event))
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    expect(double(2)).toBe(4)
    expect(errors.map((e) => e.operation)).toEqual(['instrumentation'])
    expect(cache.stats().functions.DOUBLE).toMatchObject({ failures: 0 })
  })
})

describe('instrumentation: the refresh flag', () => {
  it('a caller’s own miss is not marked as a background refresh because one is scheduled for the same call', async () => {
    const seen: boolean[] = []
    const events: boolean[] = []
    const cache = createCache({
      domainKey: 'HOOK',
      backend: new FullMapBackend(false),
      instrumentation: {
        compute(info, run) {
          seen.push(info.refresh)
          return run()
        },
      },
    })
    cache.on('compute', (event) => events.push(event.refresh))
    let n = 0
    const read = cache.wrap('READ', () => ++n, { ttl: 0.05, staleWhileRevalidate: 10 })
    read() // miss
    await new Promise((resolve) => setTimeout(resolve, 80))
    read() // stale: a background refresh is scheduled for the next tick
    read.invalidate() // …and the caller invalidates it at once
    expect(read()).toBe(2) // the caller's own miss, computed now
    expect(seen.slice(0, 2)).toEqual([false, false])
    expect(events.slice(0, 2)).toEqual([false, false])
    await cache.close()
  })
})
