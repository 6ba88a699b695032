import type { CallbackError } from './errors.js'
import { isolateCallback } from './isolate-callback.js'

/** What the cache reports. Subscribe with `cache.on(event, listener)`. */
export interface CacheEvents {
  /** A wrapped call was answered from a stored result without waiting for a computation. */
  hit: { functionKey: string; key: string }
  /**
   * A wrapped call found nothing valid: it computes, or waits for a computation of the same call under way.
   * Once per call, like `cache.stats()` counts it (a background refresh is no call's miss).
   */
  miss: { functionKey: string; key: string }
  /**
   * A computation of a wrapped function settled (a miss, a `refresh()`, a background refresh): how long it
   * took, and its error if it failed. What compute-time metrics are built on.
   */
  compute: { functionKey: string; key: string; ms: number; refresh: boolean; error?: unknown }
  /** A computed result was stored. */
  set: { functionKey: string; key: string }
  /**
   * A computed result was not stored because an invalidation happened while it was computed
   * (the race-free invalidation rule at work).
   */
  discard: { functionKey: string; key: string }
  /**
   * A call was answered with a result past its ttl: `staleWhileRevalidate` or `neverDie` (then refreshed in the
   * background), `failSafe` (the computation failed with `error`), `softTimeout` (the computation was
   * slow, and goes on) or `lock` (another process holds the computation lock, and this call could not wait).
   */
  stale: {
    functionKey: string
    key: string
    reason: 'staleWhileRevalidate' | 'neverDie' | 'failSafe' | 'softTimeout' | 'lock'
    error?: unknown
  }
  /** An invalidation was applied. `key` is set for result-level invalidations. */
  invalidate: { level: 'result' | 'function' | 'domain'; functionKey?: string; key?: string }
  /**
   * Something failed: a backend operation, a timeout, a stored entry that does not decode (then treated
   * as a miss), a value the serializer cannot encode (then not stored).
   */
  error: { operation: string; error: unknown; key?: string }
}

export type CacheEventName = keyof CacheEvents
export type CacheListener<E extends CacheEventName> = (payload: CacheEvents[E]) => void

/**
 * A small typed event hub. `has(event)` is a property read, so the hot path pays nothing for events
 * nobody listens to. A listener that throws or returns a rejected promise never breaks a cached call nor
 * crashes the process: its {@link CallbackError} is reported through the `error` event (or, for a failing
 * `error` listener, as a `RapideCallbackWarning` process warning).
 */
export class EventHub {
  private readonly listeners: { [E in CacheEventName]?: CacheListener<E>[] } = {}

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): () => void {
    const list = (this.listeners[event] ?? []) as CacheListener<E>[]
    this.listeners[event] = list as (typeof this.listeners)[E]
    list.push(listener)
    return () => {
      const index = list.indexOf(listener)
      if (index >= 0) list.splice(index, 1)
    }
  }

  has(event: CacheEventName): boolean {
    const list = this.listeners[event]
    return list !== undefined && list.length > 0
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const list = this.listeners[event] as CacheListener<E>[] | undefined
    if (!list) return
    for (const listener of [...list])
      isolateCallback(`A "${event}" listener`, () => listener(payload), this.reporter(event))
  }

  /**
   * Where a failing listener's error goes: the `error` event (so it is seen where every other failure is),
   * except for a failing `error` listener itself, which becomes a process warning (no loop).
   */
  private reporter(event: CacheEventName): ((error: CallbackError) => void) | undefined {
    if (event === 'error' || !this.has('error')) return undefined
    return (error) => this.emit('error', { operation: `listener:${event}`, error })
  }
}
