import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api'
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { describe, expect, it, vi } from 'vitest'
import { type CacheInstrumentation, createCache, InvalidOptionError } from '../src/index.js'
import { openTelemetry } from '../src/opentelemetry/index.js'
import { SharedStoreBackend, SyncMapBackend } from './support/backends.js'
import { metricsIn, openTelemetryHarness } from './support/opentelemetry-harness.js'

// OpenTelemetry through the in-memory exporter and a reader collected on demand, with the async-hooks
// context manager a Node application registers (what makes the active span follow `await`).

const { current, otel, spans, parentOf, points, counted } = openTelemetryHarness()
/** The test's own tracer: the spans a cached function or a request handler would make. */
const appTracer = () => current.tracerProvider.getTracer('app')
const spanNamed = (name: string): ReadableSpan => {
  const found = spans().filter((span) => span.name === name)
  expect(found, `one span named ${name}`).toHaveLength(1)
  return found[0] as ReadableSpan
}

describe('compute spans', () => {
  it('a synchronous function stays synchronous and its own spans nest under the compute span', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap('PRICE', (sku: string) =>
      appTracer().startActiveSpan('db.query', (span) => {
        span.end()
        return `${sku}:10`
      }),
    )
    const outer = appTracer().startSpan('request')
    const answer = context.with(trace.setSpan(context.active(), outer), () => price('A-1'))
    outer.end()
    expect(answer).toBe('A-1:10') // not a promise
    const compute = spanNamed('rapide.compute PRICE')
    const query = spanNamed('db.query')
    expect(parentOf(query)).toBe(compute.spanContext().spanId)
    expect(parentOf(compute)).toBe(outer.spanContext().spanId)
    expect(compute.spanContext().traceId).toBe(outer.spanContext().traceId)
    expect(compute.attributes).toEqual({
      'rapide.domain': 'SHOP',
      'rapide.function': 'PRICE',
      'rapide.backend': 'sync-map',
      'rapide.refresh': false,
    })
    expect(compute.status.code).toBe(SpanStatusCode.UNSET)
  })

  it('a hit makes no span', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    let computations = 0
    const price = cache.wrap('PRICE', (sku: string) => `${sku}:${++computations}`)
    expect(price('A-1')).toBe('A-1:1')
    expect(price('A-1')).toBe('A-1:1')
    expect(price('A-1')).toBe('A-1:1')
    expect(spans().map((span) => span.name)).toEqual(['rapide.compute PRICE'])
  })

  it('an asynchronous function: spans made after an await nest under the compute span, which ends when it settles', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SharedStoreBackend(new Map()),
      instrumentation: otel(),
    })
    const price = cache.wrap('PRICE', async (sku: string) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      const span = appTracer().startSpan('db.query')
      await new Promise((resolve) => setTimeout(resolve, 5))
      span.end()
      await new Promise((resolve) => setTimeout(resolve, 5))
      return `${sku}:10`
    })
    const answer = await appTracer().startActiveSpan('request', async (outer: Span) => {
      try {
        return await price('A-1')
      } finally {
        outer.end()
      }
    })
    expect(answer).toBe('A-1:10')
    const compute = spanNamed('rapide.compute PRICE')
    const query = spanNamed('db.query')
    const outer = spanNamed('request')
    expect(parentOf(query)).toBe(compute.spanContext().spanId)
    expect(parentOf(compute)).toBe(outer.spanContext().spanId)
    // Ended when the promise settled, not when the function returned its promise.
    expect(nanos(compute.endTime)).toBeGreaterThanOrEqual(nanos(query.endTime))
    expect(await price('A-1')).toBe('A-1:10')
    expect(spans().filter((span) => span.name.startsWith('rapide.'))).toHaveLength(1)
  })

  it('a lazy thenable (a query builder) is subscribed to once, and the span ends when it settles', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SharedStoreBackend(new Map()),
      instrumentation: otel(),
    })
    let queries = 0
    const lazyQuery = (sku: string): PromiseLike<string> => ({
      // Each `then` runs the query again, as query builders do.
      // biome-ignore lint/suspicious/noThenProperty: the point of the test
      then(resolve, reject) {
        queries++
        return Promise.resolve(`${sku}:10`).then(resolve, reject)
      },
    })
    const price = cache.wrap('PRICE', lazyQuery)
    expect(await price('A-1')).toBe('A-1:10')
    expect(queries).toBe(1)
    expect(spanNamed('rapide.compute PRICE').ended).toBe(true)
  })

  it('under another instrumentation that makes a context active, the compute span still nests the function', () => {
    const outer = appTracer().startSpan('outer hook')
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: [
        { compute: (_info, run) => context.with(trace.setSpan(context.active(), outer), run) },
        otel(),
      ],
    })
    const price = cache.wrap('PRICE', (sku: string) =>
      appTracer().startActiveSpan('db.query', (span) => {
        span.end()
        return sku
      }),
    )
    expect(price('A-1')).toBe('A-1')
    outer.end()
    const compute = spanNamed('rapide.compute PRICE')
    expect(parentOf(compute)).toBe(outer.spanContext().spanId)
    expect(parentOf(spanNamed('db.query'))).toBe(compute.spanContext().spanId)
  })

  it('a synchronous throw: status ERROR, the exception recorded, error.type, the caller gets the very error', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const failure = new TypeError('no such sku')
    const price = cache.wrap('PRICE', (_sku: string): string => {
      throw failure
    })
    expect(() => price('A-1')).toThrow(failure)
    const compute = spanNamed('rapide.compute PRICE')
    expect(compute.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such sku' })
    expect(compute.attributes['error.type']).toBe('TypeError')
    const exception = compute.events.find((event) => event.name === 'exception')
    expect(exception?.attributes?.['exception.type']).toBe('TypeError')
    expect(exception?.attributes?.['exception.message']).toBe('no such sku')
  })

  it('a rejection: the span fails when the promise rejects; an error code is the error.type', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SharedStoreBackend(new Map()),
      instrumentation: otel(),
    })
    const failure = new InvalidOptionError('gone')
    const price = cache.wrap('PRICE', async (_sku: string): Promise<string> => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      throw failure
    })
    await expect(price('A-1')).rejects.toBe(failure)
    const compute = spanNamed('rapide.compute PRICE')
    expect(compute.status.code).toBe(SpanStatusCode.ERROR)
    expect(compute.attributes['error.type']).toBe('E_INVALID_OPTION')
    expect(compute.events.map((event) => event.name)).toContain('exception')
  })

  it('a thrown non-error is recorded as a string with error.type _OTHER', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap('PRICE', (_sku: string): string => {
      throw 'plain string'
    })
    expect(() => price('A-1')).toThrow('plain string')
    const compute = spanNamed('rapide.compute PRICE')
    expect(compute.status).toEqual({ code: SpanStatusCode.ERROR, message: 'plain string' })
    expect(compute.attributes['error.type']).toBe('_OTHER')
  })

  it('keys stay off spans unless recordKeys is set', () => {
    for (const recordKeys of [false, true]) {
      current.exporter.reset()
      const cache = createCache({
        domainKey: 'SHOP',
        backend: new SyncMapBackend(),
        instrumentation: otel({ recordKeys }),
      })
      cache.wrap('CUSTOMER', (email: string) => email.length)('jane@example.com')
      const compute = spanNamed('rapide.compute CUSTOMER')
      if (recordKeys) expect(compute.attributes['rapide.key']).toContain('jane@example.com')
      else {
        expect(compute.attributes).not.toHaveProperty('rapide.key')
        expect(JSON.stringify([compute.name, compute.attributes, compute.events])).not.toContain('jane@')
      }
    }
  })

  it('a background refresh is its own compute span, rapide.refresh=true', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    let version = 0
    const price = cache.wrap('PRICE', async (sku: string) => `${sku}:${++version}`, {
      ttl: '1m',
      staleWhileRevalidate: '10m',
    })
    expect(await price('A-1')).toBe('A-1:1')
    vi.advanceTimersByTime(61_000)
    expect(await price('A-1')).toBe('A-1:1') // stale, refreshed in the background
    await vi.advanceTimersByTimeAsync(10)
    expect(await price('A-1')).toBe('A-1:2')
    const computes = spans().filter((span) => span.name === 'rapide.compute PRICE')
    expect(computes.map((span) => span.attributes['rapide.refresh'])).toEqual([false, true])
  })
})

describe('invalidations', () => {
  it('mark the active span with a rapide.invalidate event (key only with recordKeys)', async () => {
    for (const recordKeys of [false, true]) {
      current.exporter.reset()
      const cache = createCache({
        domainKey: 'SHOP',
        backend: new SharedStoreBackend(new Map()),
        instrumentation: otel({ recordKeys }),
      })
      const price = cache.wrap('PRICE', async (sku: string) => `${sku}:10`)
      await appTracer().startActiveSpan('update price', async (span: Span) => {
        await price.invalidate('A-1')
        await cache.invalidateFunc('PRICE')
        await cache.invalidateDomain()
        span.end()
      })
      const events = spanNamed('update price').events.filter((event) => event.name === 'rapide.invalidate')
      expect(events.map((event) => event.attributes?.['rapide.invalidation.level'])).toEqual([
        'result',
        'function',
        'domain',
      ])
      expect(events[0]?.attributes?.['rapide.function']).toBe('PRICE')
      expect(events[0]?.attributes?.['rapide.domain']).toBe('SHOP')
      expect(events[2]?.attributes).not.toHaveProperty('rapide.function')
      if (recordKeys) expect(events[0]?.attributes?.['rapide.key']).toContain('A-1')
      else expect(events[0]?.attributes).not.toHaveProperty('rapide.key')
      // No span of their own: an invalidation reported once applied has no duration to show.
      expect(spans().map((span) => span.name)).toEqual(['update price'])
    }
  })

  it('outside any span, nothing is traced and nothing fails', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
    price.invalidate('A-1')
    expect(spans()).toEqual([])
  })
})

describe('metrics', () => {
  it('lookups, stale answers, computations and invalidations after a known sequence', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap(
      'PRICE',
      async (sku: string) => {
        await new Promise((resolve) => setTimeout(resolve, 250))
        return `${sku}:10`
      },
      { ttl: '1m', staleWhileRevalidate: '10m' },
    )
    const stock = cache.wrap('STOCK', (sku: string) => sku.length)
    // PRICE: 2 misses (each computing 250 ms), 3 fresh hits.
    for (const sku of ['A-1', 'B-2']) {
      const answer = price(sku)
      await vi.advanceTimersByTimeAsync(250)
      expect(await answer).toBe(`${sku}:10`)
    }
    for (let i = 0; i < 3; i++) expect(await price('A-1')).toBe('A-1:10')
    // STOCK: 1 miss, 1 hit.
    expect(stock('A-1')).toBe(3)
    expect(stock('A-1')).toBe(3)
    // One stale answer (and its background refresh: a third PRICE computation).
    vi.advanceTimersByTime(61_000)
    expect(await price('A-1')).toBe('A-1:10')
    await vi.advanceTimersByTimeAsync(300)
    // Invalidations at each level.
    price.invalidate('B-2')
    cache.invalidateFunc('STOCK')
    cache.invalidateDomain()

    // Lookups agree with cache.stats(): every call one hit or one miss, the background refresh neither.
    const { functions } = cache.stats()
    expect([functions.PRICE?.hits, functions.PRICE?.misses]).toEqual([4, 2])
    const PRICE = { 'rapide.domain': 'SHOP', 'rapide.function': 'PRICE' }
    const STOCK = { 'rapide.domain': 'SHOP', 'rapide.function': 'STOCK' }
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': false })).toBe(2)
    // The stale answer is a hit too (it was answered from the cache).
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(4)
    expect(await counted('rapide.lookups', { ...STOCK, 'cache.hit': false })).toBe(1)
    expect(await counted('rapide.lookups', { ...STOCK, 'cache.hit': true })).toBe(1)
    expect(
      await counted('rapide.stale_answers', { ...PRICE, 'rapide.stale.reason': 'staleWhileRevalidate' }),
    ).toBe(1)
    expect(await counted('rapide.stale_answers', {})).toBe(1)

    const durations = (await points('rapide.compute.duration')).filter(
      (point) => point.attributes['rapide.function'] === 'PRICE',
    )
    const histogramWhere = (refresh: boolean): Histogram => {
      const point = durations.find((p) => p.attributes['rapide.refresh'] === refresh)
      expect(point, `a duration point with rapide.refresh=${refresh}`).toBeDefined()
      return point?.value as Histogram
    }
    const misses = histogramWhere(false)
    const refreshes = histogramWhere(true)
    expect(misses.count).toBe(2)
    expect(misses.sum).toBeCloseTo(0.5, 6) // seconds, not milliseconds
    expect(refreshes.count).toBe(1)
    expect(refreshes.sum).toBeCloseTo(0.25, 6)
    // The advised bounds are in seconds: 0.25 s falls in the (0.1, 0.25] bucket.
    const { boundaries, counts } = misses.buckets
    expect(boundaries).toContain(0.25)
    expect(counts[boundaries.indexOf(0.25)]).toBe(2)

    expect(
      await counted('rapide.invalidations', {
        ...PRICE,
        'rapide.invalidation.level': 'result',
      }),
    ).toBe(1)
    expect(
      await counted('rapide.invalidations', {
        ...STOCK,
        'rapide.invalidation.level': 'function',
      }),
    ).toBe(1)
    const domainLevel = (await points('rapide.invalidations')).filter(
      (point) => point.attributes['rapide.invalidation.level'] === 'domain',
    )
    expect(domainLevel.map((point) => [point.value, point.attributes])).toEqual([
      [1, { 'rapide.domain': 'SHOP', 'rapide.invalidation.level': 'domain' }],
    ])
  })

  it('lookups are read from the statistics: no hit listener, and a stats reset never makes them go down', async () => {
    const subscribed: string[] = []
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: [
        {
          attach(cache) {
            const on = cache.on.bind(cache)
            cache.on = ((event, listener) => {
              subscribed.push(event)
              return on(event, listener)
            }) as typeof cache.on
          },
        },
        otel(),
      ],
    })
    // The hit path emits nothing when nobody listens: OpenTelemetry adds no work to it.
    expect(subscribed).not.toContain('hit')
    expect(subscribed).not.toContain('miss')
    const price = cache.wrap('PRICE', (sku: string) => sku)
    price('A-1')
    price('A-1')
    const PRICE = { 'rapide.function': 'PRICE' }
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(1)
    // Collecting twice counts nothing twice.
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(1)
    cache.stats({ reset: true })
    price('A-1')
    price('A-1')
    price('B-2')
    // Counting goes on from the totals, not from the reset counters.
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(3)
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': false })).toBe(2)
    cache.stats({ reset: true })
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(3)
    price('A-1')
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(4)
    // A call between a collection and a reset is the documented loss: the reset took it.
    price('A-1')
    cache.stats({ reset: true })
    expect(await counted('rapide.lookups', { ...PRICE, 'cache.hit': true })).toBe(4)
  })

  it('a cache without statistics reports no lookups; its other metrics still come', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      stats: false,
      instrumentation: otel(),
    })
    const price = cache.wrap('PRICE', (sku: string) => sku)
    price('A-1')
    price('A-1')
    price.invalidate('A-1')
    expect(await points('rapide.lookups')).toEqual([])
    expect(await counted('rapide.invalidations', { 'rapide.function': 'PRICE' })).toBe(1)
    expect(await points('rapide.compute.duration')).toHaveLength(1)
  })

  it('a failed computation is in the duration histogram with its error.type', () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap('PRICE', (_sku: string): string => {
      throw new RangeError('bad sku')
    })
    expect(() => price('A-1')).toThrow(RangeError)
    return points('rapide.compute.duration').then((found) => {
      expect(
        found.map((point) => [point.attributes['error.type'], (point.value as Histogram).count]),
      ).toEqual([['RangeError', 1]])
    })
  })

  it('a fail-safe answer: counted as a stale answer with the error.type of the failure, whose computation failed', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    let failing = false
    const price = cache.wrap(
      'PRICE',
      async (sku: string) => {
        if (failing) throw new RangeError('price service down')
        return `${sku}:10`
      },
      { ttl: '1m', failSafe: '1h' },
    )
    expect(await price('A-1')).toBe('A-1:10')
    vi.advanceTimersByTime(61_000)
    failing = true
    expect(await price('A-1')).toBe('A-1:10')
    expect(
      await counted('rapide.stale_answers', {
        'rapide.function': 'PRICE',
        'rapide.stale.reason': 'failSafe',
        'error.type': 'RangeError',
      }),
    ).toBe(1)
    const [first, second] = spans().filter((span) => span.name === 'rapide.compute PRICE')
    expect([first?.status.code, second?.status.code]).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR])
    const failed = (await points('rapide.compute.duration')).filter((point) => point.attributes['error.type'])
    expect(failed.map((point) => [point.attributes['error.type'], (point.value as Histogram).count])).toEqual(
      [['RangeError', 1]],
    )
  })

  it('a failing backend read is counted under its operation', async () => {
    const backend = new SharedStoreBackend(new Map())
    const cache = createCache({ domainKey: 'SHOP', backend, instrumentation: otel() })
    const price = cache.wrap('PRICE', async (sku: string) => `${sku}:10`)
    vi.spyOn(backend, 'get').mockRejectedValue(
      Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }),
    )
    expect(await price('A-1')).toBe('A-1:10') // onError 'silent': computed without the cache
    // Every failed read, as `cache.stats()` counts them; the backend's failure reaches callers wrapped as a
    // BackendError, whose code is the error.type.
    const reads = cache.stats().errorsByOperation.get ?? 0
    expect(reads).toBeGreaterThan(0)
    const found = await points('rapide.errors')
    expect(found.map((point) => [point.value, point.attributes])).toEqual([
      [reads, { 'rapide.domain': 'SHOP', 'rapide.operation': 'get', 'error.type': 'E_BACKEND' }],
    ])
  })

  it('errors the cache reports are counted by operation and error.type', async () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    const price = cache.wrap('PRICE', (sku: string) => `${sku}:10`)
    // A failing listener is reported through the error event (operation `listener:hit`), never to the caller.
    cache.on('hit', () => {
      throw new Error('listener bug')
    })
    price('A-1')
    expect(price('A-1')).toBe('A-1:10')
    expect(price('A-1')).toBe('A-1:10')
    const found = await points('rapide.errors')
    expect(found.map((point) => [point.value, point.attributes])).toEqual([
      [
        2,
        {
          'rapide.domain': 'SHOP',
          'rapide.operation': 'listener:hit',
          'error.type': 'E_CALLBACK_FAILED',
        },
      ],
    ])
  })

  it('never carry a key, even with recordKeys', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: otel({ recordKeys: true }),
    })
    const customer = cache.wrap('CUSTOMER', (email: string) => email.length)
    customer('jane@example.com')
    customer('jane@example.com')
    customer.invalidate('jane@example.com')
    const { resourceMetrics } = await current.reader.collect()
    const all = metricsIn(resourceMetrics)
    expect(all.map((metric) => metric.descriptor.name).sort()).toEqual([
      'rapide.compute.duration',
      'rapide.invalidations',
      'rapide.lookups',
    ])
    expect(JSON.stringify(all)).not.toContain('jane@example.com')
    for (const point of all.flatMap((metric) => metric.dataPoints as DataPoint<unknown>[]))
      expect(point.attributes).not.toHaveProperty('rapide.key')
  })

  it('instruments carry their units and are reported under the @rapide/core scope', async () => {
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation: otel() })
    cache.wrap('PRICE', (sku: string) => sku)('A-1')
    const { resourceMetrics } = await current.reader.collect()
    const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === '@rapide/core')
    const units = Object.fromEntries(scope?.metrics.map((m) => [m.descriptor.name, m.descriptor.unit]) ?? [])
    expect(units).toEqual({ 'rapide.lookups': '{lookup}', 'rapide.compute.duration': 's' })
  })

  it('one instrumentation shared by two caches tells them apart by rapide.domain', async () => {
    const instrumentation = otel()
    const shop = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    const blog = createCache({ domainKey: 'BLOG', backend: new SyncMapBackend(), instrumentation })
    shop.wrap('F', (n: number) => n)(1)
    blog.wrap('F', (n: number) => n)(1)
    blog.wrap('G', (n: number) => n)(1)
    expect(await counted('rapide.lookups', { 'rapide.domain': 'SHOP' })).toBe(1)
    expect(await counted('rapide.lookups', { 'rapide.domain': 'BLOG' })).toBe(2)
  })
})

describe('options', () => {
  it('traces: false leaves the compute hook out (computations pay nothing) and makes no span', async () => {
    const instrumentation = otel({ traces: false })
    expect(instrumentation.compute).toBeUndefined()
    const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
    const price = cache.wrap('PRICE', (sku: string) => sku)
    appTracer().startActiveSpan('request', (span) => {
      price('A-1')
      price.invalidate('A-1')
      span.end()
    })
    expect(spans().map((span) => [span.name, span.events.length])).toEqual([['request', 0]])
    expect(await counted('rapide.lookups', {})).toBe(1)
  })

  it('metrics: false records no metric; spans still come', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: otel({ metrics: false }),
    })
    cache.wrap('PRICE', (sku: string) => sku)('A-1')
    const { resourceMetrics } = await current.reader.collect()
    expect(metricsIn(resourceMetrics)).toEqual([])
    expect(spans().map((span) => span.name)).toEqual(['rapide.compute PRICE'])
  })

  it('an explicit tracer and meter are used as given', async () => {
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: openTelemetry({
        tracer: current.tracerProvider.getTracer('mine'),
        meter: current.meterProvider.getMeter('mine'),
      }),
    })
    cache.wrap('PRICE', (sku: string) => sku)('A-1')
    expect(spanNamed('rapide.compute PRICE').instrumentationScope.name).toBe('mine')
    const { resourceMetrics } = await current.reader.collect()
    expect(resourceMetrics.scopeMetrics.map((scope) => scope.scope.name)).toEqual(['mine'])
  })

  it('without options, the global providers are used (read when the first cache attaches)', async () => {
    const instrumentation = openTelemetry()
    trace.setGlobalTracerProvider(current.tracerProvider)
    const { metrics } = await import('@opentelemetry/api')
    metrics.setGlobalMeterProvider(current.meterProvider)
    try {
      const cache = createCache({ domainKey: 'SHOP', backend: new SyncMapBackend(), instrumentation })
      cache.wrap('PRICE', (sku: string) => sku)('A-1')
      expect(spanNamed('rapide.compute PRICE').instrumentationScope.name).toBe('@rapide/core')
      expect(await counted('rapide.lookups', { 'cache.hit': false })).toBe(1)
    } finally {
      trace.disable()
      metrics.disable()
    }
  })

  it.each([
    [{ recordKey: true }, /unknown option "recordKey" \(did you mean "recordKeys"\?\)/],
    [{ recordKeys: 'yes' }, /`recordKeys` must be a boolean/],
    [{ traces: 0 }, /`traces` must be a boolean/],
    [{ tracer: {} }, /`tracer` must be an OpenTelemetry tracer/],
    [{ meterProvider: 'global' }, /`meterProvider` must be an OpenTelemetry meterProvider/],
    ['all', /options must be an object/],
  ])('refuses %j with a typed error', (options, message) => {
    expect(() => openTelemetry(options as never)).toThrow(InvalidOptionError)
    expect(() => openTelemetry(options as never)).toThrow(message)
  })

  it('refuses a tracer together with a tracerProvider, a meter together with a meterProvider', () => {
    const tracer = current.tracerProvider.getTracer('x')
    const meter = current.meterProvider.getMeter('x')
    expect(() => openTelemetry({ tracer, tracerProvider: current.tracerProvider })).toThrow(
      /`tracer` or `tracerProvider`, not both/,
    )
    expect(() => openTelemetry({ meter, meterProvider: current.meterProvider })).toThrow(
      /`meter` or `meterProvider`, not both/,
    )
  })

  it('is a CacheInstrumentation', () => {
    const instrumentation: CacheInstrumentation = openTelemetry({
      tracerProvider: current.tracerProvider,
      meterProvider: current.meterProvider,
    })
    expect(typeof instrumentation.attach).toBe('function')
    expect(typeof instrumentation.compute).toBe('function')
  })
})

function nanos([seconds, nanoseconds]: readonly [number, number]): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds)
}
