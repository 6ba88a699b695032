import { type Attributes, trace } from '@opentelemetry/api'
import type { CacheEvents } from '../events.js'
import {
  ATTR_RAPIDE_DOMAIN,
  ATTR_RAPIDE_FUNCTION,
  ATTR_RAPIDE_INVALIDATION_LEVEL,
  ATTR_RAPIDE_KEY,
  EVENT_RAPIDE_INVALIDATE,
} from './names.js'

/**
 * Marks an invalidation on the active span (the request or job that invalidated), as a span event
 * rather than a span of its own: the `invalidate` event reports an invalidation once applied, so a span
 * would have no duration to show, while an event on the caller's span puts it on that trace's timeline.
 * Nothing is done outside a recording span.
 */
export function markInvalidation(
  domain: string,
  recordKeys: boolean,
  { level, functionKey, key }: CacheEvents['invalidate'],
): void {
  const span = trace.getActiveSpan()
  if (span === undefined || !span.isRecording()) return
  const attributes: Attributes = { [ATTR_RAPIDE_DOMAIN]: domain, [ATTR_RAPIDE_INVALIDATION_LEVEL]: level }
  if (functionKey !== undefined) attributes[ATTR_RAPIDE_FUNCTION] = functionKey
  if (recordKeys && key !== undefined) attributes[ATTR_RAPIDE_KEY] = key
  span.addEvent(EVENT_RAPIDE_INVALIDATE, attributes)
}
