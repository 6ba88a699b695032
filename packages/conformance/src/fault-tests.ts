import {
  type AnyBackend,
  BackendError,
  BackendTimeoutError,
  type Cache,
  createCache,
  type ErrorPolicy,
  RapideError,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from './applicability.js'
import {
  type FaultyBackend,
  READ_OPERATIONS,
  STORE_OPERATIONS,
  WRITE_OPERATIONS,
  withFaults,
} from './faults.js'
import { type Harness, sleep, uniqueName } from './harness.js'

type Level = 'result' | 'function' | 'domain'
const LEVELS: readonly Level[] = ['result', 'function', 'domain']

/**
 * "A corrupted, slow or failing store never makes rapide serve a wrong value": the engine over the
 * backend wrapped by {@link withFaults}. A case whose fault cannot apply to the backend (bytes to corrupt
 * on an in-process store, a delay on a synchronous one) is a visible skip.
 */
export function faultTests<B extends AnyBackend>(harness: Harness<B>, probe: B): void {
  const caps = probe.capabilities
  const bytes = !caps.inProcessValues

  const setup = (
    options: { onError?: ErrorPolicy; timeout?: `${number}ms`; domainKey?: string; seed?: number } = {},
  ) => {
    const backend = withFaults(harness.backend(), { seed: options.seed ?? 0x5eed })
    const cache = createCache({
      domainKey: options.domainKey ?? uniqueName('DOMAIN'),
      backend,
      onError: options.onError ?? 'silent',
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    })
    const errors: { operation: string; error: unknown; key?: string | undefined }[] = []
    cache.on('error', (event) => errors.push(event))
    // Where results are stored, learnt from the engine itself (the key layout is not the kit's business).
    const stored: string[] = []
    cache.on('set', ({ key }) => stored.push(key))
    return { backend, cache, errors, stored }
  }

  const invalidate = (cache: Cache<FaultyBackend<B>>, level: Level, functionKey: string, arg: unknown) =>
    level === 'result'
      ? cache.invalidateResult(functionKey, arg)
      : level === 'function'
        ? cache.invalidateFunc(functionKey)
        : cache.invalidateDomain()

  /** Invalidates every listed result of the listed functions at `level`. */
  const invalidateAll = async (
    cache: Cache<FaultyBackend<B>>,
    level: Level,
    functionKeys: readonly string[],
    args: readonly number[],
  ) => {
    if (level === 'domain') return void (await cache.invalidateDomain())
    for (const functionKey of functionKeys) {
      if (level === 'function') await cache.invalidateFunc(functionKey)
      else for (const arg of args) await cache.invalidateResult(functionKey, arg)
    }
  }

  /** Reads the raw entry without faults (the wrapper forwards when none is active). */
  const rawLength = async (backend: FaultyBackend<B>, key: string): Promise<number> => {
    const raw = await backend.get(key)
    expect(raw).toBeInstanceOf(Uint8Array)
    return (raw as Uint8Array).length
  }

  describe('faults: a corrupted, slow or failing store never makes rapide serve a wrong value', () => {
    it.skipIf(!bytes)(
      'corrupt: an entry read with any one byte flipped is a reported miss, never another value',
      async () => {
        const { backend, cache, errors, stored } = setup()
        let calls = 0
        const f = cache.wrap('F', (n: number) => ({ n, call: ++calls, text: 'a value ü' }))
        await f(1)
        const key = stored[0]!
        const length = await rawLength(backend, key)
        for (let at = 0; at < length; at++) {
          const flip = backend.faults.inject({ kind: 'corrupt', how: 'flip', at, keys: key })
          const before = errors.length
          const result = f(1)
          if (caps.sync) expect(result, `byte ${at} flipped: sync stays sync`).not.toBeInstanceOf(Promise)
          const value = await result
          expect(flip.injected, `byte ${at} flipped`).toBeGreaterThan(0)
          // A fresh computation (its own `call` number), never the old value nor a mutation of it.
          expect(value, `byte ${at} of ${length} flipped`).toEqual({ n: 1, call: calls, text: 'a value ü' })
          expect(errors.length, `byte ${at} flipped: the corruption is reported`).toBeGreaterThan(before)
          flip.remove()
        }
      },
    )

    it.skipIf(!bytes)('corrupt: a truncated entry is a reported miss, at every length', async () => {
      const { backend, cache, errors, stored } = setup()
      let calls = 0
      const f = cache.wrap('F', (n: number) => ({ n, call: ++calls, list: [1, 2, 3] }))
      await f(1)
      const key = stored[0]!
      const length = await rawLength(backend, key)
      for (let at = 0; at < length; at++) {
        const cut = backend.faults.inject({ kind: 'corrupt', how: 'truncate', at, keys: key })
        const before = errors.length
        expect(await f(1), `cut to ${at} of ${length} bytes`).toEqual({ n: 1, call: calls, list: [1, 2, 3] })
        expect(cut.injected).toBeGreaterThan(0)
        expect(errors.length, `cut to ${at} bytes: the corruption is reported`).toBeGreaterThan(before)
        cut.remove()
      }
    })

    it.skipIf(!bytes)(
      'corrupt: another argument’s entry returned for this one is never served as its result',
      async () => {
        const { backend, cache, stored } = setup()
        let calls = 0
        const f = cache.wrap('F', (n: number) => ({ n, call: ++calls }))
        await f(1)
        await f(2)
        const [one, two] = stored
        const swap = backend.faults.inject({ kind: 'corrupt', how: 'swap', swapWith: two!, keys: one! })
        expect(await f(1)).toEqual({ n: 1, call: calls })
        expect(swap.injected).toBeGreaterThan(0)
        // And the other way round, through a function of the same domain.
        swap.remove()
        const g = cache.wrap('G', (n: number) => ({ g: n }))
        await g(1)
        const gKey = stored[stored.length - 1]!
        backend.faults.inject({ kind: 'corrupt', how: 'swap', swapWith: gKey, keys: two! })
        expect(await f(2)).toEqual({ n: 2, call: calls })
      },
    )

    it.skipIf(!bytes)(
      'corrupt: random corruption of every kind of read, across invalidations, never yields a wrong value',
      async () => {
        const { backend, cache } = setup({ seed: 11 })
        let version = 1
        const f = cache.wrap('F', (n: number) => ({ n, version }))
        for (let round = 0; round < 30; round++) {
          const faults = [
            backend.faults.inject({ kind: 'corrupt', how: 'flip', probability: 0.3 }),
            backend.faults.inject({ kind: 'corrupt', how: 'truncate', probability: 0.1 }),
            backend.faults.inject({ kind: 'corrupt', how: 'swap', probability: 0.1 }),
          ]
          for (const n of [1, 2, 3]) expect(await f(n), `round ${round}`).toEqual({ n, version })
          for (const fault of faults) fault.remove()
          version++
          await invalidateAll(cache, LEVELS[round % 3]!, ['F'], [1, 2, 3])
        }
        expect(backend.faults.injected.corrupt).toBeGreaterThan(10)
      },
    )

    it.skipIf(caps.sync)(
      'delay: with a store slower than the timeout, silent computes within the bound and reports BackendTimeoutError',
      async () => {
        const { backend, cache, errors } = setup({ timeout: '100ms' })
        const f = cache.wrap('F', async (n: number) => n + 1)
        backend.faults.inject({ kind: 'delay', ms: 3000 })
        const started = performance.now()
        expect(await f(1)).toBe(2)
        expect(performance.now() - started).toBeLessThan(1000)
        expect(errors.map((e) => e.error)).toContainEqual(expect.any(BackendTimeoutError))
      },
    )

    it.skipIf(caps.sync)(
      'delay: with a store slower than the timeout, raise rejects with BackendTimeoutError within the bound',
      async () => {
        const { backend, cache } = setup({ timeout: '100ms', onError: 'raise' })
        const f = cache.wrap('F', async (n: number) => n + 1)
        backend.faults.inject({ kind: 'delay', ms: 3000 })
        const started = performance.now()
        await expect(f(1)).rejects.toThrow(BackendTimeoutError)
        expect(performance.now() - started).toBeLessThan(1000)
        await expect(async () => cache.invalidateFunc('F')).rejects.toThrow(BackendTimeoutError)
      },
    )

    for (const level of LEVELS) {
      it.skipIf(caps.sync)(
        `delay: a result write that lands after the timeout and after a ${level} invalidation is never served`,
        async () => {
          const { backend, cache } = setup({ timeout: '100ms' })
          let version = 1
          const f = cache.wrap('F', async (n: number) => `${n}v${version}`)
          await f(0)
          // The store of this computation reaches the store 400 ms late, long after the call gave up on it.
          const late = backend.faults.inject({ kind: 'delay', ms: 400, operations: STORE_OPERATIONS })
          expect(await f(1)).toBe('1v1')
          late.remove()
          version = 2
          await invalidate(cache, level, 'F', 1)
          await sleep(500)
          expect(backend.faults.injected.delay).toBeGreaterThan(0)
          expect(await f(1)).toBe('1v2')
        },
      )
    }

    it('fail: failing reads compute (silent, reported) or raise a typed error (raise)', async () => {
      const silent = setup()
      const f = silent.cache.wrap('F', (n: number) => n + 1)
      silent.backend.faults.inject({ kind: 'fail', operations: READ_OPERATIONS })
      expect(await f(1)).toBe(2)
      expect(silent.errors.map((e) => e.error)).toContainEqual(expect.any(BackendError))
      const raising = setup({ onError: 'raise' })
      const g = raising.cache.wrap('G', (n: number) => n + 1)
      raising.backend.faults.inject({ kind: 'fail', operations: READ_OPERATIONS })
      await expect(async () => g(1)).rejects.toThrow(BackendError)
    })

    it('fail: a failing store of a result answers the computed value, reports it, and stores nothing wrong', async () => {
      const { backend, cache, errors } = setup()
      let version = 1
      const f = cache.wrap('F', (n: number) => `${n}v${version}`)
      const failing = backend.faults.inject({ kind: 'fail', operations: WRITE_OPERATIONS })
      expect(await f(1)).toBe('1v1')
      expect(errors.length).toBeGreaterThan(0)
      failing.remove()
      version = 2
      await cache.invalidateFunc('F')
      expect(await f(1)).toBe('1v2')
    })

    for (const applied of [false, true]) {
      for (const level of LEVELS) {
        it(`fail: a ${level} invalidation whose writes fail${applied ? ' after being applied' : ''} rejects or takes effect, never succeeds silently; a retry takes effect`, async () => {
          const { backend, cache } = setup()
          let version = 1
          const f = cache.wrap('F', (n: number) => `${n}v${version}`)
          expect(await f(1)).toBe('1v1')
          const failing = backend.faults.inject({ kind: 'fail', operations: WRITE_OPERATIONS, applied })
          version = 2
          const outcome = await Promise.resolve()
            .then(() => invalidate(cache, level, 'F', 1))
            .then(
              () => 'resolved' as const,
              (error: unknown) => error,
            )
          if (outcome === 'resolved') {
            // An invalidation that resolved took effect, even though the store keeps failing.
            expect(await f(1)).toBe('1v2')
          } else {
            expect(outcome).toBeInstanceOf(RapideError)
            // It may or may not have been applied: the old value or the new one, nothing else.
            expect(['1v1', '1v2']).toContain(await f(1))
          }
          failing.remove()
          version = 3
          await invalidate(cache, level, 'F', 1)
          expect(await f(1)).toBe('1v3')
        })
      }
    }

    it.skipIf(!caps.shared)(
      'shared: fail: after a failed invalidation in one instance, another instance’s invalidation is still seen by it',
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const here = setup({ domainKey })
        const there = createCache({ domainKey, backend: harness.backendOfAnotherProcess(), onError: 'raise' })
        let version = 1
        const f = here.cache.wrap('F', (n: number) => `${n}v${version}`)
        expect(await f(1)).toBe('1v1')
        for (const level of LEVELS) {
          const failing = here.backend.faults.inject({ kind: 'fail', operations: WRITE_OPERATIONS })
          await expect(async () => invalidate(here.cache, level, 'F', 1)).rejects.toThrow(RapideError)
          failing.remove()
          version++
          if (level === 'result') await there.invalidateResult('F', 1)
          else if (level === 'function') await there.invalidateFunc('F')
          else await there.invalidateDomain()
          expect(await f(1), `after a failed ${level} invalidation`).toBe(`1v${version}`)
        }
      },
    )

    it('drop: lost writes of results and generations only cost hits, never serve a stale value', async () => {
      const { backend, cache } = setup({ seed: 23 })
      let version = 1
      const f = cache.wrap('F', (n: number) => `${n}v${version}`)
      for (let round = 0; round < 30; round++) {
        const drops = backend.faults.inject({
          kind: 'drop',
          operations: [
            ...STORE_OPERATIONS,
            ...(applicability(probe).implements('setNx') ? (['setNx'] as const) : []),
          ],
          probability: 0.5,
        })
        for (const n of [1, 2, 3]) expect(await f(n), `round ${round}`).toBe(`${n}v${version}`)
        drops.remove()
        // The invalidation itself is not dropped: a store that acknowledges an invalidation it lost is
        // lying, and no cache can make up for that.
        version++
        await invalidateAll(cache, LEVELS[round % 3]!, ['F'], [1, 2, 3])
      }
      expect(backend.faults.injected.drop).toBeGreaterThan(10)
    })

    it('chaos: corrupted, slow, failing and lost operations at random never yield a wrong value', async () => {
      const { backend, cache } = setup({ seed: 42, timeout: '100ms' })
      let version = 1
      const f = cache.wrap('F', async (n: number) => `${n}v${version}`)
      const g = cache.wrap('G', (n: number) => ({ n, version }))
      for (let round = 0; round < 25; round++) {
        const faults = [
          backend.faults.inject({ kind: 'fail', probability: 0.15 }),
          backend.faults.inject({ kind: 'fail', probability: 0.05, applied: true }),
          backend.faults.inject({ kind: 'drop', probability: 0.15 }),
        ]
        if (bytes) faults.push(backend.faults.inject({ kind: 'corrupt', probability: 0.15 }))
        if (!caps.sync) faults.push(backend.faults.inject({ kind: 'delay', ms: 150, probability: 0.05 }))
        for (const n of [1, 2]) {
          expect(await f(n), `round ${round}`).toBe(`${n}v${version}`)
          expect(await g(n), `round ${round}`).toEqual({ n, version })
        }
        for (const fault of faults) fault.remove()
        version++
        await invalidateAll(cache, LEVELS[round % 3]!, ['F', 'G'], [1, 2])
      }
      // Late writes land; none of them may surface.
      await sleep(200)
      for (const n of [1, 2]) {
        expect(await f(n)).toBe(`${n}v${version}`)
        expect(await g(n)).toEqual({ n, version })
      }
    })
  })
}
