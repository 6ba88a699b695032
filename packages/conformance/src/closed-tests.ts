import type { AnyBackend, AsyncBackend, BackendEntry } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { accelerationsOf, applicability, type OptionalMethod } from './applicability.js'
import { type Harness, sample, uniqueName } from './harness.js'

/** How long an operation after `close()` may take to fail. */
const CLOSED_BOUND_MS = 2000

/** What a call made after `close()` did. */
type Outcome = 'failed' | 'answered' | 'hung'

/**
 * The "closed" trait: after `close()`, every operation the backend has (the required ones, each method
 * of its groups, and each acceleration, a scoped view made before the close included) must fail (throw
 * or reject) within {@link CLOSED_BOUND_MS}: never hang, never answer from the store. A cache whose
 * backend was closed under it then fails fast with a typed error instead of serving or waiting.
 * A backend without `close()` skips it, by name.
 */
export function closedTests<B extends AnyBackend>(harness: Harness<B>, probe: B): void {
  const kit = applicability(probe)

  describe('closed', () => {
    if (!kit.implements('close')) {
      it.skip('closed: every operation fails after close() (the backend has no close())', () => {})
      return
    }
    for (const [operation, call] of operationsOf(kit)) {
      it(`closed: ${operation} fails after close(), within ${CLOSED_BOUND_MS} ms, never answering`, async () => {
        const backend = harness.backend()
        const accelerations = accelerationsOf(backend)
        const target: Target = {
          backend: backend as unknown as Full,
          accelerations,
          // Made before the close, as a cache makes it when it is created.
          view: accelerations.scope?.(`${uniqueName('conformance:closed')}:`),
          key: uniqueName('conformance:closed'),
          value: sample(backend, 'v'),
        }
        // Something is stored, so an operation that still reads the store after the close would find it.
        await target.backend.set(target.key, target.value, undefined)
        await target.view?.set('k', target.value, undefined)
        await target.backend.close()
        expect(
          await outcomeOf(() => call(target)),
          `${operation} after close() must throw or reject (ClosedError is clearest), not answer nor hang`,
        ).toBe('failed')
      })
    }
  })
}

type Full = Required<Omit<AsyncBackend<unknown>, 'accelerations' | 'storeId'>>

interface Target {
  readonly backend: Full
  readonly accelerations: ReturnType<typeof accelerationsOf>
  readonly view:
    | { get(key: string): unknown; set(key: string, value: unknown, ttlMs?: number): unknown }
    | undefined
  readonly key: string
  readonly value: unknown
}

/** Every operation `kit` says the backend has, with arguments a live store would accept. */
function operationsOf(kit: ReturnType<typeof applicability>): [string, (t: Target) => unknown][] {
  const entry = (t: Target, suffix = ''): BackendEntry<unknown> => ({
    key: `${t.key}${suffix}`,
    value: t.value,
    ttlMs: undefined,
  })
  const methods: [OptionalMethod | 'get' | 'set' | 'delete', (t: Target) => unknown][] = [
    ['get', (t) => t.backend.get(t.key)],
    ['set', (t) => t.backend.set(t.key, t.value, undefined)],
    ['delete', (t) => t.backend.delete(t.key)],
    ['ping', (t) => t.backend.ping()],
    ['getMany', (t) => t.backend.getMany([t.key])],
    ['setMany', (t) => t.backend.setMany([entry(t), entry(t, ':2')])],
    ['deleteMany', (t) => t.backend.deleteMany([t.key])],
    ['setNx', (t) => t.backend.setNx(`${t.key}:nx`, t.value, undefined)],
    ['deleteIfEquals', (t) => t.backend.deleteIfEquals(t.key, t.value)],
    ['incr', (t) => t.backend.incr(`${t.key}:n`, 1, undefined)],
    ['expire', (t) => t.backend.expire(t.key, 60_000)],
    ['keys', (t) => t.backend.keys(t.key)],
    ['deletePrefix', (t) => t.backend.deletePrefix(t.key)],
  ]
  const operations: [string, (t: Target) => unknown][] = methods.filter(
    ([method]) => method === 'get' || method === 'set' || method === 'delete' || kit.implements(method),
  )
  const { scope, setGuarded, reclaimPrefix } = kit.accelerations
  if (scope) {
    operations.push(['accelerations().scope(namespace).get', (t) => t.view!.get('k')])
    operations.push(['accelerations().scope(namespace).set', (t) => t.view!.set('k', t.value, undefined)])
  }
  if (setGuarded) {
    operations.push([
      'accelerations().setGuarded',
      (t) => t.accelerations.setGuarded!(entry(t, ':guard'), entry(t, ':entry')),
    ])
  }
  if (reclaimPrefix) {
    operations.push(['accelerations().reclaimPrefix', (t) => t.accelerations.reclaimPrefix!(t.key)])
  }
  return operations
}

/** Calls `call` and tells whether it threw or rejected in time, answered, or did not settle. */
async function outcomeOf(call: () => unknown): Promise<Outcome> {
  let result: unknown
  try {
    result = call()
  } catch {
    return 'failed'
  }
  if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
    // A listing fails when it is read.
    result = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]().next()
  } else if (!(result instanceof Promise) && result !== null && typeof result === 'object') {
    if (Symbol.iterator in result && !Array.isArray(result)) {
      try {
        for (const _ of result as Iterable<unknown>) break
      } catch {
        return 'failed'
      }
    }
  }
  if (!(result instanceof Promise)) return 'answered'
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve('hung'), CLOSED_BOUND_MS)
  })
  try {
    return await Promise.race([
      result.then(
        () => 'answered' as const,
        () => 'failed' as const,
      ),
      hung,
    ])
  } finally {
    clearTimeout(timer)
  }
}
