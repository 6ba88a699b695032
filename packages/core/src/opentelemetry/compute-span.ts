import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import type { ComputeInfo } from '../instrumentation.js'
import { isPromiseLike } from '../maybe-promise.js'
import { errorType } from './error-type.js'
import {
  ATTR_ERROR_TYPE,
  ATTR_RAPIDE_BACKEND,
  ATTR_RAPIDE_DOMAIN,
  ATTR_RAPIDE_FUNCTION,
  ATTR_RAPIDE_KEY,
  ATTR_RAPIDE_REFRESH,
  SPAN_RAPIDE_COMPUTE,
} from './names.js'

/**
 * Runs one computation inside a `rapide.compute` span made the active span, so the spans the function
 * makes itself (a database query, an HTTP call) are its children. `context.with` runs `run` at once and
 * hands back its result: a synchronous function stays synchronous, a promise is the caller's very
 * promise (the span ends when it settles).
 */
export function computeInSpan<T>(tracer: Tracer, recordKeys: boolean, info: ComputeInfo, run: () => T): T {
  const attributes: Attributes = {
    [ATTR_RAPIDE_DOMAIN]: info.domainKey,
    [ATTR_RAPIDE_FUNCTION]: info.functionKey,
    [ATTR_RAPIDE_BACKEND]: info.backend,
    [ATTR_RAPIDE_REFRESH]: info.refresh,
  }
  if (recordKeys) attributes[ATTR_RAPIDE_KEY] = info.key
  const parent = context.active()
  // A background refresh runs on a timer that inherited the context of whatever scheduled it, maybe a
  // request long over: it is a trace of its own, linked to that span, rather than a late child of it.
  const trigger = info.refresh ? trace.getSpanContext(parent) : undefined
  const span = tracer.startSpan(
    // `{operation} {target}` with a low-cardinality target, as OpenTelemetry names spans (`SELECT users`).
    `${SPAN_RAPIDE_COMPUTE} ${info.functionKey}`,
    info.refresh
      ? { kind: SpanKind.INTERNAL, attributes, root: true, links: trigger ? [{ context: trigger }] : [] }
      : { kind: SpanKind.INTERNAL, attributes },
    parent,
  )
  let result: T
  try {
    result = context.with(trace.setSpan(parent, span), run)
  } catch (error) {
    fail(span, error)
    span.end()
    throw error
  }
  if (!isPromiseLike(result)) {
    span.end()
    return result
  }
  // A thenable that is not a promise (a lazy query builder) may do its work on each `then`: it becomes a
  // promise here, subscribed to once, as the core would make it anyway.
  const promise = result instanceof Promise ? result : Promise.resolve(result)
  // A derived promise that handles both outcomes: it ends the span and leaves the rejection to the
  // caller, who holds `promise` (no unhandled rejection is created here).
  promise.then(
    () => span.end(),
    (error: unknown) => {
      fail(span, error)
      span.end()
    },
  )
  return promise as T
}

function fail(span: Span, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType(error))
  if (error instanceof Error) {
    span.recordException(error)
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
  } else {
    span.recordException(String(error))
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) })
  }
}
