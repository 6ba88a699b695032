import {
  type AnyBackend,
  type AsyncBackend,
  ClosedError,
  CounterOverflowError,
  createCache,
  InvalidPatternError,
  NotSupportedError,
  type RapideError,
  UnkeyableArgumentError,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from './applicability.js'
import { READ_OPERATIONS, WRITE_OPERATIONS, withFaults } from './faults.js'
import { deferred, type Harness, sameStored, sleep, uniqueName } from './harness.js'

/**
 * Guarantees of the public API that depend on the backend as much as on the core: invalidations that
 * slow computations cannot undo, refreshes that older computations cannot overwrite, exact counters,
 * single-flight, bounded pattern matching, a complete close, and promise-returning calls that reject
 * instead of throwing.
 */
export function correctnessTests<B extends AnyBackend>(harness: Harness<B>, probe: B): void {
  const caps = probe.capabilities
  const kit = applicability(probe)
  const cacheOn = (backend: AnyBackend, domainKey = uniqueName('DOMAIN')) =>
    createCache({ domainKey, backend, onError: 'raise' })
  const newCache = () => cacheOn(harness.backend())

  describe('correctness', () => {
    /**
     * Instance `here` computes slowly (1 s, several times the 150 ms TTL) while instance `there`
     * invalidates the result; afterwards neither may serve the pre-invalidation value.
     * `existing`: the argument was computed before, so its result generation exists when the slow
     * computation starts; otherwise it is absent (a new argument).
     */
    const slowComputationAcrossInvalidation = async (existing: boolean) => {
      const domainKey = uniqueName('DOMAIN')
      const here = cacheOn(harness.backend(), domainKey)
      const there = cacheOn(harness.backendOfAnotherProcess(), domainKey)
      const unit = harness.ttlUnitMs
      let version = 1
      let slow = false
      const started = deferred()
      const compute = async (n: number) => {
        const seen = version
        if (slow && seen === 1) {
          started.resolve()
          await sleep(1000 * unit)
        }
        return `${n}v${seen}`
      }
      const ttl = `${150 * unit}ms` as const
      const f = here.wrap('SLOW', compute, { ttl })
      const g = there.wrap('SLOW', compute, { ttl })
      // The function and domain generations exist: only the result's own generation is in question.
      expect(await f(0)).toBe('0v1')
      if (existing) {
        expect(await f(1)).toBe('1v1')
        // The entry expires; its generation (which lives longer) is still there when the computation starts.
        await sleep(200 * unit)
      }
      slow = true
      const before = f(1)
      await started.promise
      await sleep(200 * unit)
      version = 2
      await there.invalidateResult('SLOW', 1)
      // The computation stores long after the invalidation and after every TTL involved has passed.
      expect(await before).toBe('1v1')
      // The late entry (150 ms TTL) is still in the store: no instance may serve it.
      expect(await g(1)).toBe('1v2')
      expect(await f(1)).toBe('1v2')
    }

    it.skipIf(!caps.shared)(
      'shared: race-free across instances: a computation outliving its ttl several times over while another instance invalidates its result never becomes visible (new argument)',
      () => slowComputationAcrossInvalidation(false),
    )

    it.skipIf(!caps.shared)(
      'shared: race-free across instances: a computation outliving its ttl several times over while another instance invalidates its result never becomes visible (existing argument)',
      () => slowComputationAcrossInvalidation(true),
    )

    it('refresh supersedes a computation of the same key that started before it', async () => {
      const cache = newCache()
      let version = 1
      const gate = deferred()
      const started = deferred()
      const f = cache.wrap('F', async (n: number) => {
        const seen = version
        if (seen === 1) {
          started.resolve()
          await gate.promise
        }
        return `${n}v${seen}`
      })
      const older = f(1)
      await started.promise
      version = 2
      expect(await f.refresh(1)).toBe('1v2')
      // The older computation finishes after the refresh stored its value...
      gate.resolve()
      expect(await older).toBe('1v1')
      await sleep(10)
      // ...and must not replace it.
      expect(await f(1)).toBe('1v2')
      expect(await f(1)).toBe('1v2')
    })

    it.skipIf(!kit.atomics)(
      'key-value: a counter never leaves ±(2^53 − 1): CounterOverflowError (E_COUNTER_OVERFLOW), counter unchanged',
      async () => {
        const cache = newCache()
        const max = Number.MAX_SAFE_INTEGER
        expect(await cache.incr('up', max)).toBe(max)
        await expect(async () => cache.incr('up', 1)).rejects.toThrow(CounterOverflowError)
        await expect(async () => cache.incr('up', 1)).rejects.toMatchObject({ code: 'E_COUNTER_OVERFLOW' })
        expect(await cache.get('up')).toBe(max)
        expect(await cache.incr('up', -1)).toBe(max - 1)
        expect(await cache.incr('down', -max)).toBe(-max)
        await expect(async () => cache.incr('down', -1)).rejects.toThrow(CounterOverflowError)
        expect(await cache.get('down')).toBe(-max)
      },
    )

    it.skipIf(!kit.implements('incr'))(
      'contract: incr refuses to leave the safe integer range and leaves the counter as it was',
      async () => {
        const backend = harness.backend()
        const incr = (key: string, delta: number, ttlMs: number | undefined) =>
          (backend as Required<Pick<AsyncBackend<unknown>, 'incr'>>).incr(key, delta, ttlMs)
        const key = uniqueName('conformance:counter')
        const max = Number.MAX_SAFE_INTEGER
        expect(await incr(key, max, undefined)).toBe(max)
        await expect(async () => incr(key, 1, undefined)).rejects.toThrow()
        const stored = await backend.get(key)
        expect(sameStored(backend, stored, caps.inProcessValues ? stored : Buffer.from(String(max)))).toBe(
          true,
        )
        if (caps.inProcessValues) expect(stored).toBe(max)
        const low = uniqueName('conformance:counter')
        expect(await incr(low, -max, undefined)).toBe(-max)
        await expect(async () => incr(low, -1, undefined)).rejects.toThrow()
        expect(await incr(low, 0, undefined)).toBe(-max)
      },
    )

    it('single-flight: 20 concurrent calls of a synchronous function compute once', async () => {
      const cache = newCache()
      let calls = 0
      const f = cache.wrap('SYNC', (n: number) => {
        calls++
        return n * 2
      })
      const results = await Promise.all(Array.from({ length: 20 }, () => f(21)))
      expect(results).toEqual(Array(20).fill(42))
      expect(calls).toBe(1)
    })

    it('generator functions: the yielded sequence is cached and replayed; one that throws midway caches nothing', async () => {
      const cache = newCache()
      let runs = 0
      const pages = cache.wrap('PAGES', async function* (n: number) {
        runs++
        for (let i = 0; i < n; i++) yield { page: i }
        if (runs === 1) throw new Error('midway')
      })
      const drain = async (sequence: AsyncIterable<unknown>) => {
        const out: unknown[] = []
        for await (const value of sequence) out.push(value)
        return out
      }
      await expect(drain(pages(2))).rejects.toThrow('midway')
      const expected = [{ page: 0 }, { page: 1 }]
      expect(await drain(pages(2))).toEqual(expected)
      expect(await drain(pages(2))).toEqual(expected)
      expect(runs).toBe(2)
    })

    it.skipIf(!kit.listing)(
      'key-value: deletePattern takes linear time on a pathological pattern; a malformed glob is InvalidPatternError',
      async () => {
        const cache = newCache()
        // A backtracking matcher takes minutes on this pair (exponential in the number of stars; 23 s at 50).
        await cache.set('a'.repeat(60), 1)
        await cache.set('ab', 2)
        const started = performance.now()
        expect(await cache.deletePattern('*a*a*a*a*a*a*a*a*a*c')).toBe(0)
        expect(performance.now() - started).toBeLessThan(2000)
        expect(await cache.get('a'.repeat(60))).toBe(1)
        for (const malformed of ['[z-a]', 'key[abc']) {
          await expect(async () => cache.deletePattern(malformed)).rejects.toThrow(InvalidPatternError)
          await expect(async () => cache.deletePattern(malformed)).rejects.toMatchObject({
            code: 'E_INVALID_PATTERN',
          })
        }
        expect(await cache.get('ab')).toBe(2)
      },
    )

    it.skipIf(caps.sync)(
      'close waits for every call that started before it: they complete, and nothing is written after it resolved',
      async () => {
        const backend = withFaults(harness.backend())
        const cache = cacheOn(backend)
        const f = cache.wrap('F', async (n: number) => n * 2)
        const g = cache.wrap('G', (n: number) => n * 3)
        // The calls are still reading when close() is called.
        backend.faults.inject({ kind: 'delay', ms: 50, operations: READ_OPERATIONS })
        const running = [1, 2, 3].flatMap((n) => [f(n), g(n)])
        for (const call of running) Promise.resolve(call).catch(() => undefined)
        await cache.close()
        const closedAt = performance.now()
        // Under onError 'raise', none of them rejects (with E_CLOSED or anything else).
        const settled = await Promise.allSettled(running)
        expect(settled).toEqual([2, 3, 4, 6, 6, 9].map((value) => ({ status: 'fulfilled', value })))
        await sleep(100)
        const late = backend.faults.history.filter(
          (record) => record.at > closedAt && WRITE_OPERATIONS.includes(record.operation),
        )
        expect(late).toEqual([])
      },
    )

    it('a second concurrent close() resolves only after the first has finished', async () => {
      const cache = newCache()
      const gate = deferred()
      const started = deferred()
      const f = cache.wrap('F', async (n: number) => {
        started.resolve()
        await gate.promise
        return n
      })
      const running = f(1)
      await started.promise
      const order: string[] = []
      const first = cache.close().then(() => order.push('first'))
      const second = cache.close().then(() => order.push('second'))
      await sleep(30)
      // The first close waits for the running computation; so must the second.
      expect(order).toEqual([])
      gate.resolve()
      await Promise.all([first, second, running])
      expect(order).toEqual(['first', 'second'])
    })

    /** Calls `call`, which must not throw, and returns what it returned (a promise, checked by the caller). */
    const callWithoutThrowing = (call: () => unknown): unknown => {
      let result: unknown
      expect(() => {
        result = call()
      }).not.toThrow()
      // Observed at once, so a failing expectation below never leaves an unhandled rejection behind.
      if (result instanceof Promise) result.catch(() => undefined)
      return result
    }
    const rejectsWith = async (call: () => unknown, type: new (...args: never[]) => RapideError) => {
      const result = callWithoutThrowing(call)
      expect(result).toBeInstanceOf(Promise)
      await expect(result).rejects.toThrow(type)
    }

    it('functions typed to return a promise never throw synchronously: an unkeyable argument, a closed cache, an unsupported operation reject', async () => {
      const cache = newCache()
      const load = cache.wrap('LOAD', async (x: unknown) => typeof x)
      const sync = cache.wrap('SYNC', (x: unknown) => typeof x)
      const unkeyable = () => 'a function argument'
      await rejectsWith(() => load(unkeyable), UnkeyableArgumentError)
      await rejectsWith(() => load.refresh(unkeyable), UnkeyableArgumentError)
      if (!caps.sync) {
        // On an asynchronous backend every wrapped call returns a promise, synchronous functions included.
        await rejectsWith(() => sync(unkeyable), UnkeyableArgumentError)
        await rejectsWith(() => cache.invalidateResult('LOAD', unkeyable), UnkeyableArgumentError)
        // A view of this store without its optional methods cannot count nor lock.
        const bare = cacheOn(bareView(harness.backend()))
        await rejectsWith(() => bare.incr('counter'), NotSupportedError)
        await rejectsWith(() => bare.setNx('key', 1), NotSupportedError)
        await rejectsWith(() => bare.lock('job', { ttl: 10 }), NotSupportedError)
      }
      await cache.close()
      await rejectsWith(() => load(1), ClosedError)
      await rejectsWith(() => load.refresh(1), ClosedError)
      if (!caps.sync) {
        await rejectsWith(() => sync(1), ClosedError)
        await rejectsWith(() => cache.invalidateFunc('LOAD'), ClosedError)
        await rejectsWith(() => cache.invalidateResult('LOAD', 1), ClosedError)
        await rejectsWith(() => cache.get('key'), ClosedError)
        await rejectsWith(() => cache.set('key', 1), ClosedError)
        await rejectsWith(() => cache.deletePattern('key*'), ClosedError)
      }
    })
  })
}

/** The same store seen through the three required methods only. */
function bareView(backend: AnyBackend): AsyncBackend<unknown> {
  const inner = backend as AsyncBackend<unknown>
  return {
    specificationVersion: 2,
    name: `${backend.name} (get/set/delete only)`,
    capabilities: { ...backend.capabilities, sync: false },
    get: (key) => inner.get(key),
    set: (key, value, ttlMs) => inner.set(key, value, ttlMs),
    delete: (key) => inner.delete(key),
  }
}
