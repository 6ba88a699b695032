import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'
import { openTelemetry } from '../src/opentelemetry/index.js'
import { SyncMapBackend } from './support/backends.js'

// Review of the OpenTelemetry integration (issue 14), defect: background refreshes inherit the context
// of whatever call scheduled them, so never-die's refreshes stay in the first request's trace forever.

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
})
afterAll(() => {
  context.disable()
})

describe('compute spans of background refreshes', () => {
  it('never-die refreshes, made while calls outside any span keep the result alive, are not in the trace of the request that first computed it', async () => {
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    const cache = createCache({
      domainKey: 'SHOP',
      backend: new SyncMapBackend(),
      instrumentation: openTelemetry({ tracerProvider, metrics: false }),
    })
    let version = 0
    const price = cache.wrap('PRICE', async (sku: string) => `${sku}:${++version}`, {
      ttl: '40ms',
      neverDie: true,
    })
    const request = tracerProvider.getTracer('app').startSpan('request')
    await context.with(trace.setSpan(context.active(), request), () => price('A-1'))
    request.end()
    // Later calls, from no request at all (a job, a health check): they keep the result alive.
    for (let i = 0; i < 6; i++) {
      await price('A-1')
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    await cache.close()
    const refreshes = exporter
      .getFinishedSpans()
      .filter((span) => span.name === 'rapide.compute PRICE' && span.attributes['rapide.refresh'] === true)
    expect(refreshes.length).toBeGreaterThan(2)
    const requestTrace = request.spanContext().traceId
    // Each refresh is work of its own: a trace of its own (a link may point to what triggered it), not a
    // child of a request that ended long before, whose trace would otherwise grow for as long as the
    // process runs.
    for (const span of refreshes) {
      expect(span.spanContext().traceId).not.toBe(requestTrace)
      expect(span.parentSpanContext?.spanId).not.toBe(request.spanContext().spanId)
    }
    await tracerProvider.shutdown()
  })
})
