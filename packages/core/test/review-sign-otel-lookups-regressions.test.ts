import { describe, expect, it, vi } from 'vitest'
import { type AnyBackend, type Cache, createCache } from '../src/index.js'
import { SyncMapBackend } from './support/backends.js'
import { openTelemetryHarness } from './support/opentelemetry-harness.js'

// Review of the OpenTelemetry integration (issue 14), regressions: `rapide.lookups` must be a monotonic sum
// over every cache an instrumentation observes, whatever caches share a domain, close, or reset.

const { otel, counted } = openTelemetryHarness()

const HITS = { 'rapide.domain': 'SHOP', 'rapide.function': 'PRICE', 'cache.hit': true }
const MISSES = { ...HITS, 'cache.hit': false }

/** `calls` calls of PRICE on `cache`, all on one argument: one miss, then hits. */
function call(cache: Cache<AnyBackend>, calls: number) {
  const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
  for (let i = 0; i < calls; i++) price('A-1')
}

describe('rapide.lookups: regressions (review of issue 14)', () => {
  it('two caches of the same domain (one per backend) add up, neither hides the other', async () => {
    const instrumentation = otel()
    const local = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    const other = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    call(local, 4) // 1 miss, 3 hits
    call(other, 2) // 1 miss, 1 hit
    expect(await counted('rapide.lookups', HITS)).toBe(4)
    expect(await counted('rapide.lookups', MISSES)).toBe(2)
    await local.close()
    await other.close()
  })

  it('never goes down when a cache is closed and the same domain is created again', async () => {
    const instrumentation = otel()
    const first = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    call(first, 6) // 1 miss, 5 hits
    expect(await counted('rapide.lookups', HITS)).toBe(5)
    await first.close()
    // A restart inside the process (a reloaded module, a reconnect): same domain, same instrumentation.
    const second = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    call(second, 2) // 1 miss, 1 hit
    // A monotonic counter: 5 hits counted before must still be counted, plus the new one.
    expect(await counted('rapide.lookups', HITS)).toBe(6)
    await second.close()
  })

  it('a reset within the same millisecond as the previous one does not lose the calls made after it', async () => {
    // A clock that does not move between two resets (fake timers, a fast machine): `since` is unchanged.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(1_700_000_000_000)
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
    price('A-1') // miss
    expect(await counted('rapide.lookups', MISSES)).toBe(1)
    cache.stats({ reset: true })
    price('B-2') // miss, after the reset and after the collection: must be counted
    expect(cache.stats().total.misses).toBe(1)
    expect(await counted('rapide.lookups', MISSES)).toBe(2)
    await cache.close()
  })
})
