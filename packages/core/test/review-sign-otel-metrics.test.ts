import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { trace } from '@opentelemetry/api'
import type { Histogram } from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { type AnyBackend, type Cache, type CacheInstrumentation, createCache } from '../src/index.js'
import { openTelemetry } from '../src/opentelemetry/index.js'
import { SyncMapBackend } from './support/backends.js'
import { openTelemetryHarness } from './support/opentelemetry-harness.js'

// Review of the OpenTelemetry integration (issue 14): what the metrics say when caches share one
// instrumentation, come and go, or reset their statistics; where compute spans sit in a trace.

const { current, otel, spans, parentOf, points, counted } = openTelemetryHarness()

const HITS = { 'rapide.domain': 'SHOP', 'rapide.function': 'PRICE', 'cache.hit': true }

/** `calls` calls of PRICE on `cache`, all on one argument: one miss, then hits. */
function call(cache: Cache<AnyBackend>, calls: number) {
  const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
  for (let i = 0; i < calls; i++) price('A-1')
}

/** The garbage collector, where V8 lets a test reach it. */
function collectGarbage(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

describe('rapide.lookups across caches that share one instrumentation', () => {
  it('never goes down when a closed cache is garbage-collected', async () => {
    const gc = collectGarbage()
    if (gc === undefined) return expect.fail('no way to reach the garbage collector in this runtime')
    const instrumentation = otel()
    const gone = await (async () => {
      const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
      call(cache, 4) // 1 miss, 3 hits
      expect(await counted('rapide.lookups', HITS)).toBe(3)
      await cache.close()
      return new WeakRef(cache)
    })()
    for (let i = 0; i < 10 && gone.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      gc()
    }
    // The instrumentation holds no cache alive (callbacks would otherwise leak every cache made).
    expect(gone.deref()).toBeUndefined()
    // What it counted stays counted: a cumulative counter whose series vanishes or drops reads as a reset.
    expect(await counted('rapide.lookups', HITS)).toBe(3)
  })

  it('a cache created with stats: false next to one with statistics: only the latter reports lookups', async () => {
    const instrumentation = otel()
    const quiet = createCache({
      domainKey: 'QUIET',
      backend: new SyncMapBackend(),
      stats: false,
      instrumentation,
    })
    const shop = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    call(quiet, 3)
    call(shop, 3)
    expect(await counted('rapide.lookups', { 'rapide.domain': 'QUIET' })).toBe(0)
    expect(await counted('rapide.lookups', HITS)).toBe(2)
    // Its computations are still measured (events, not statistics).
    const durations = (await points('rapide.compute.duration')).filter(
      (point) => point.attributes['rapide.domain'] === 'QUIET',
    )
    expect(durations.map((point) => (point.value as Histogram).count)).toEqual([1])
    await quiet.close()
    await shop.close()
  })
})

describe('compute spans: parentage and never left open', () => {
  it('nested wrapped synchronous functions on a synchronous store: the inner compute span is the child of the outer one', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const tax = cache.wrap('TAX', (sku: string) => `${sku}:tax`)
    const price = cache.wrap('PRICE', (sku: string) => `${tax(sku)}:10`)
    expect(price('A-1')).toBe('A-1:tax:10')
    const byName = new Map(spans().map((span) => [span.name, span]))
    const outer = byName.get('rapide.compute PRICE')!
    const inner = byName.get('rapide.compute TAX')!
    expect(parentOf(inner)).toBe(outer.spanContext().spanId)
    expect(parentOf(outer)).toBeUndefined()
    // After the call no span of rapide's is still active: the next call is not its child.
    expect(trace.getActiveSpan()).toBeUndefined()
    expect(price('B-2')).toBe('B-2:tax:10')
    const roots = spans().filter((span) => span.name === 'rapide.compute PRICE')
    expect(roots.map(parentOf)).toEqual([undefined, undefined])
  })

  it('an instrumentation whose hook throws before run() beside OpenTelemetry: the compute span still ends', () => {
    const errors: unknown[] = []
    const throwing: CacheInstrumentation = {
      compute() {
        throw new Error('broken plug-in')
      },
    }
    for (const order of [
      [otel(), throwing],
      [throwing, otel()],
    ]) {
      current.exporter.reset()
      const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: order })
      cache.on('error', ({ operation }) => errors.push(operation))
      const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
      expect(price('A-1')).toBe('A-1:10')
      expect(spans().map((span) => span.name)).toEqual(['rapide.compute PRICE'])
    }
    expect(errors).toEqual(['instrumentation', 'instrumentation'])
  })

  it('a tracer that throws is a reported instrumentation error; the call answers and nothing stays active', () => {
    const tracer = current.tracerProvider.getTracer('broken')
    tracer.startSpan = () => {
      throw new Error('exporter down')
    }
    const errors: string[] = []
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: openTelemetry({ tracer, meterProvider: current.meterProvider }),
    })
    cache.on('error', ({ operation }) => errors.push(operation))
    const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
    expect(price('A-1')).toBe('A-1:10')
    expect(errors).toEqual(['instrumentation'])
    expect(trace.getActiveSpan()).toBeUndefined()
  })
})
