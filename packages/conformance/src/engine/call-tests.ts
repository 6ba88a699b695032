import { type AnyBackend, DuplicateFunctionKeyError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { deferred, type Harness, sleep } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/**
 * Calls and keys: a wrapped function is cached by its arguments, stays synchronous over a synchronous
 * backend, shares one computation between concurrent calls, and refuses a function key used twice.
 */
export function callTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const { newCache } = engineContext(harness, placement)

  describe('calls and keys', () => {
    it('caches a function by its arguments', async () => {
      const cache = newCache()
      let calls = 0
      const double = cache.wrap('DOUBLE', (n: number) => {
        calls++
        return n * 2
      })
      expect(await double(2)).toBe(4)
      expect(await double(2)).toBe(4)
      expect(await double(3)).toBe(6)
      expect(calls).toBe(2)
    })

    it.skipIf(!kit.sync)('sync stays sync: a synchronous function returns a plain value', () => {
      const cache = newCache()
      const double = cache.wrap('DOUBLE', (n: number) => n * 2)
      expect(double(2)).toBe(4)
      expect(double(2)).toBe(4)
    })

    it.skipIf(kit.sync)('an asynchronous backend returns promises for synchronous functions', async () => {
      const cache = newCache()
      const double = cache.wrap('DOUBLE', (n: number) => n * 2)
      const result = double(2) as unknown
      expect(result).toBeInstanceOf(Promise)
      expect(await result).toBe(4)
    })

    it('async functions return promises on hits too', async () => {
      const cache = newCache()
      const load = cache.wrap('LOAD', async (id: string) => ({ id }))
      const first = load('a')
      expect(first).toBeInstanceOf(Promise)
      expect(await first).toEqual({ id: 'a' })
      const second = load('a')
      expect(second).toBeInstanceOf(Promise)
      expect(await second).toEqual({ id: 'a' })
    })

    it('f(1) and f(1, undefined) are one call; 1 and "1" are not', async () => {
      const cache = newCache()
      let calls = 0
      const f = cache.wrap('F', (a: unknown, b?: unknown) => {
        calls++
        return `${typeof a}:${String(b)}`
      })
      await f(1)
      await f(1, undefined)
      expect(calls).toBe(1)
      expect(await f('1')).toBe('string:undefined')
      expect(await f(1, null)).toBe('number:null')
      expect(calls).toBe(3)
    })

    it('single-flight: concurrent calls for one missing key share one computation', async () => {
      const cache = newCache()
      let calls = 0
      const gate = deferred()
      const load = cache.wrap('LOAD', async (id: number) => {
        calls++
        await gate.promise
        return id * 10
      })
      const calls10 = Array.from({ length: 10 }, () => load(7))
      await sleep(20)
      gate.resolve()
      expect(await Promise.all(calls10)).toEqual(Array(10).fill(70))
      expect(calls).toBe(1)
    })

    it('duplicate function keys in one domain are an error', () => {
      const cache = newCache()
      cache.wrap('SAME', () => 1)
      expect(() => cache.wrap('SAME', () => 2)).toThrow(DuplicateFunctionKeyError)
    })

    it('ping answers', async () => {
      expect(await newCache().ping()).toBe(true)
    })
  })
}
