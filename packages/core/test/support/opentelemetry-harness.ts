import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics'
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest'
import { openTelemetry } from '../../src/opentelemetry/index.js'

/** A reader the test collects from when it wants (no timer). */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * OpenTelemetry for one test file: the in-memory span exporter, a metric reader collected on demand and
 * the async-hooks context manager a Node application registers (what makes the active span follow
 * `await`), all new for each test. Call it at the top of the file.
 */
export function openTelemetryHarness() {
  const current = {} as {
    exporter: InMemorySpanExporter
    tracerProvider: TracerProvider
    reader: CollectingReader
    meterProvider: MeterProvider
  }
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  })
  afterAll(() => {
    context.disable()
  })
  beforeEach(() => {
    current.exporter = new InMemorySpanExporter()
    current.tracerProvider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter: current.exporter })],
    })
    current.reader = new CollectingReader()
    current.meterProvider = new MeterProvider({ readers: [current.reader] })
  })
  afterEach(async () => {
    vi.useRealTimers()
    vi.restoreAllMocks()
    await current.tracerProvider.shutdown()
    await current.meterProvider.shutdown()
  })

  /** The data points of one metric, as collected now. */
  async function points(name: string): Promise<DataPoint<number | Histogram>[]> {
    const { resourceMetrics } = await current.reader.collect()
    return metricsIn(resourceMetrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as DataPoint<number | Histogram>[])
  }

  return {
    /** This test's exporter, providers and reader. */
    current,
    /** `openTelemetry()` over this test's providers. */
    otel: (options: Parameters<typeof openTelemetry>[0] = {}) =>
      openTelemetry({
        tracerProvider: current.tracerProvider,
        meterProvider: current.meterProvider,
        ...options,
      }),
    spans: (): ReadableSpan[] => current.exporter.getFinishedSpans(),
    parentOf: (span: ReadableSpan) => span.parentSpanContext?.spanId,
    points,
    /** The sum of the counter points whose attributes include `attributes`. */
    async counted(name: string, attributes: Record<string, unknown>): Promise<number> {
      const matching = (await points(name)).filter((point) =>
        Object.entries(attributes).every(([k, v]) => point.attributes[k] === v),
      )
      return matching.reduce((sum, point) => sum + (point.value as number), 0)
    },
  }
}

export function metricsIn(resourceMetrics: ResourceMetrics) {
  return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)
}
