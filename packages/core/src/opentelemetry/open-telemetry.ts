import {
  type Meter,
  type MeterProvider,
  metrics,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import type { AnyBackend } from '../backend/contract.js'
import type { Cache } from '../cache.js'
import { InvalidOptionError } from '../errors.js'
import type { CacheInstrumentation, ComputeInfo } from '../instrumentation.js'
import { checkOptions } from '../options.js'
import { CacheMetrics } from './cache-metrics.js'
import { computeInSpan } from './compute-span.js'
import { markInvalidation } from './invalidation-span-event.js'

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /** The tracer spans are made with. Default: `tracerProvider`'s, else the global one's. */
  tracer?: Tracer
  /** Where the tracer comes from when `tracer` is not given. Default: the global provider. */
  tracerProvider?: TracerProvider
  /** The meter instruments are made with. Default: `meterProvider`'s, else the global one's. */
  meter?: Meter
  /** Where the meter comes from when `meter` is not given. Default: the global provider. */
  meterProvider?: MeterProvider
  /**
   * Puts the cache key of a result (`rapide.key`) on compute spans and invalidation span events. Off by
   * default: keys are built from arguments, which can be personal data. Never on metrics (one series per key).
   */
  recordKeys?: boolean
  /** Spans for computations and span events for invalidations. Default `true`. */
  traces?: boolean
  /** Counters and the computation-duration histogram. Default `true`. */
  metrics?: boolean
}

const OPTIONS = [
  'tracer',
  'tracerProvider',
  'meter',
  'meterProvider',
  'recordKeys',
  'traces',
  'metrics',
] as const

/** The instrumentation scope rapide's spans and metrics are reported under. */
export const INSTRUMENTATION_SCOPE = '@rapide/core'

/**
 * OpenTelemetry spans and metrics for rapide caches, through `@opentelemetry/api` (an optional peer
 * dependency: install it to use this entry point; the main entry never loads it).
 *
 * - one `rapide.compute <function key>` span per computation (a miss or a background refresh), the
 *   active span while the function runs, so its own spans nest under it; hits make no span;
 * - a `rapide.invalidate` event on the active span for each invalidation;
 * - counters of lookups (`cache.hit`), stale answers, errors and invalidations, and a histogram of
 *   computation durations in seconds.
 *
 * Keys are left out unless `recordKeys` is set. Start the OpenTelemetry SDK before creating the caches:
 * the global meter provider is read when the first cache attaches.
 *
 * @example
 * import { createCache } from '@rapide/core'
 * import { openTelemetry } from '@rapide/core/opentelemetry'
 *
 * const cache = createCache({ domainKey: 'SHOP', backend: RedisBackend, instrumentation: openTelemetry() })
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): CacheInstrumentation {
  checkOptions(options, OPTIONS, 'openTelemetry')
  const opts = options ?? {}
  if (opts.tracer !== undefined && opts.tracerProvider !== undefined)
    throw new InvalidOptionError('openTelemetry: give `tracer` or `tracerProvider`, not both')
  if (opts.meter !== undefined && opts.meterProvider !== undefined)
    throw new InvalidOptionError('openTelemetry: give `meter` or `meterProvider`, not both')
  for (const name of ['recordKeys', 'traces', 'metrics'] as const) {
    const value = opts[name]
    if (value !== undefined && typeof value !== 'boolean')
      throw new InvalidOptionError(`openTelemetry: \`${name}\` must be a boolean, got ${typeof value}`)
  }
  checkHas(opts.tracer, 'tracer', 'startSpan')
  checkHas(opts.tracerProvider, 'tracerProvider', 'getTracer')
  checkHas(opts.meter, 'meter', 'createCounter')
  checkHas(opts.meterProvider, 'meterProvider', 'getMeter')
  const recordKeys = opts.recordKeys === true
  const traces = opts.traces !== false
  const withMetrics = opts.metrics !== false

  const tracer = traces
    ? (opts.tracer ?? (opts.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE))
    : undefined
  let instruments: CacheMetrics | undefined
  const instrumentsNow = (): CacheMetrics => {
    instruments ??= new CacheMetrics(
      opts.meter ?? (opts.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE),
    )
    return instruments
  }

  const instrumentation: CacheInstrumentation = {
    attach(cache: Cache<AnyBackend>): void {
      if (withMetrics) instrumentsNow().observe(cache)
      if (tracer !== undefined) {
        const domain = cache.domainKey
        cache.on('invalidate', (payload) => markInvalidation(domain, recordKeys, payload))
      }
    },
  }
  // Without traces the hook is left out entirely, so computations pay nothing for it.
  if (tracer !== undefined) {
    instrumentation.compute = <T>(info: ComputeInfo, run: () => T): T =>
      computeInSpan(tracer, recordKeys, info, run)
  }
  return instrumentation
}

function checkHas(value: unknown, name: string, method: string): void {
  if (value === undefined) return
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Record<string, unknown>)[method] !== 'function'
  )
    throw new InvalidOptionError(
      `openTelemetry: \`${name}\` must be an OpenTelemetry ${name} (no ${method} method)`,
    )
}
