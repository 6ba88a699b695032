import {
  type AnyBackend,
  BACKEND_GROUPS,
  type Cache,
  InvalidOptionError,
  NotSupportedError,
  RateLimitError,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, sleep, uniqueName } from '../harness.js'
import { engineContext, FIRST_PLACEMENT, type Placement } from './engine-context.js'

/** Why a case does not run, when a capability is missing: what the author would add to unlock it. */
const UNLOCK_ATOMICS = `implement ${BACKEND_GROUPS.atomics.join(', ')} to unlock it`
const UNLOCK_LISTING = `implement ${BACKEND_GROUPS.listing.join(', ')} to unlock it`
const NOT_SHARED = 'the backend is not shared (capabilities.shared): one process only'

/**
 * Registers `name` where the backend has what it needs; elsewhere a skipped case whose name says why, and
 * what to implement to unlock it (as the capability summary's `refused:` rows do).
 */
function needing(missing: string | undefined, name: string, run: () => Promise<void>): void {
  if (missing === undefined) it(name, run)
  else it.skip(`${name} (skipped: ${missing})`, () => {})
}

/** The outcome of a call: its value, or what it threw or rejected with. */
async function settled<T>(call: () => T | Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await call() }
  } catch (error) {
    return { error }
  }
}

/** Resolves at the next `set` (a computed result stored) of `cache`; rejects after `withinMs`. */
function nextStore(cache: Cache<AnyBackend>, withinMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no result was stored within ${withinMs} ms`))
    }, withinMs)
    const off = cache.on('set', () => {
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

/**
 * The strategies of `wrap` that work through the store, so across processes: a rate limit every process
 * shares (atomic counters), never-die and stale-while-revalidate whose background refreshes another
 * process reads, fail-safe that never outlives an invalidation made elsewhere, the computation lock
 * answering a stampede from stale with one refresh overall, and expiry management on a store that lists
 * keys. Real time with short ttls (the backend may keep its own clock); the strategies judge a result's
 * age by the time stored with it. A case whose capability the backend lacks is skipped, by name, saying
 * what would unlock it.
 */
export function strategyTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const { cacheOn, newCache } = engineContext(harness, placement)
  /** Two caches over one store in one domain, as two processes hold them. */
  const twoProcesses = (domainKey = uniqueName('DOMAIN')): [Cache<B>, Cache<B>] => {
    return [
      cacheOn(harness.backend(), { domainKey }),
      cacheOn(harness.backendOfAnotherProcess(), { domainKey }),
    ]
  }
  const closeAll = (...caches: Cache<B>[]) => Promise.all(caches.map((cache) => cache.close()))
  // Rate-limit periods are fixed windows on the clock: a case starts just after one begins, so its calls
  // never straddle two.
  const PERIOD_MS = 400
  const startOfPeriod = () => sleep(PERIOD_MS - (Date.now() % PERIOD_MS) + 10)
  const rateLimitMissing = kit.atomics ? undefined : UNLOCK_ATOMICS
  const sharedMissing = (also?: string) => (!kit.shared ? NOT_SHARED : also)

  describe('strategies', () => {
    needing(
      rateLimitMissing,
      'rateLimit: at most `limit` calls per period with the same arguments, hits included; then RateLimitError; the next period passes',
      async () => {
        const cache = newCache()
        let computations = 0
        const f = cache.wrap(
          'LIMITED',
          async (n: number) => {
            computations++
            return n
          },
          { ttl: '1h', rateLimit: { limit: 3, period: `${PERIOD_MS}ms` } },
        )
        try {
          await startOfPeriod()
          expect([await f(1), await f(1), await f(1)]).toEqual([1, 1, 1])
          const over = await settled(() => f(1))
          expect(over.error).toBeInstanceOf(RateLimitError)
          expect(over.error).toMatchObject({ code: 'E_RATE_LIMITED', limit: 3 })
          // Other arguments count apart.
          expect(await f(2)).toBe(2)
          await sleep((over.error as RateLimitError).retryAfterMs + 20)
          expect(await f(1)).toBe(1)
          expect(computations).toBe(2)
        } finally {
          await cache.close()
        }
      },
    )

    it.skipIf(kit.atomics)(
      'rateLimit is refused at wrap where the store has no atomic counters, saying so',
      async () => {
        const cache = newCache()
        expect(() =>
          cache.wrap('LIMITED', async (n: number) => n, { rateLimit: { limit: 1, period: '1s' } }),
        ).toThrow(InvalidOptionError)
        await cache.close()
      },
    )

    needing(
      sharedMissing(rateLimitMissing),
      'shared: rateLimit: every process shares one limit (atomic counters in the store)',
      async () => {
        const [one, two] = twoProcesses()
        const options = { ttl: '1h', rateLimit: { limit: 3, period: `${PERIOD_MS}ms` } } as const
        const f1 = one.wrap('LIMITED', async (n: number) => `${n}`, options)
        const f2 = two.wrap('LIMITED', async (n: number) => `${n}`, options)
        try {
          await startOfPeriod()
          expect([await f1(1), await f2(1), await f1(1)]).toEqual(['1', '1', '1'])
          const fromTwo = await settled(() => f2(1))
          expect(fromTwo.error, 'the fourth call, from the other process').toBeInstanceOf(RateLimitError)
          expect(fromTwo.error).toMatchObject({ code: 'E_RATE_LIMITED' })
          const fromOne = await settled(() => f1(1))
          expect(fromOne.error).toBeInstanceOf(RateLimitError)
          await sleep((fromOne.error as RateLimitError).retryAfterMs + 20)
          expect(await f2(1)).toBe('1')
          expect(await f1(1)).toBe('1')
        } finally {
          await closeAll(one, two)
        }
      },
    )

    it('neverDie: the result is refreshed in the background before it expires; no call waits for a computation', async () => {
      const cache = newCache()
      // When each computation started: the one answering a call must have started before the call.
      const startedAt: number[] = []
      const f = cache.wrap(
        'KEPT',
        async (n: number) => {
          const id = startedAt.push(performance.now())
          await sleep(30)
          return `${n}v${id}`
        },
        { ttl: '300ms', neverDie: { at: 0.5 } },
      )
      try {
        const first = await f(1)
        expect(first).toBe('1v1')
        const answers: string[] = []
        const until = performance.now() + 650
        while (performance.now() < until) {
          await sleep(50)
          const callStartedAt = performance.now()
          const answer = await f(1)
          const computedBy = Number(answer.slice(answer.indexOf('v') + 1))
          expect(
            startedAt[computedBy - 1],
            `call at ${Math.round(callStartedAt)} ms waited for computation ${computedBy}`,
          ).toBeLessThan(callStartedAt)
          answers.push(answer)
        }
        // Stored at ~30 ms and refreshed every ~150 ms since: at least two refreshes, never one per call.
        expect(startedAt.length).toBeGreaterThanOrEqual(3)
        expect(startedAt.length).toBeLessThan(answers.length)
        expect(answers.at(-1), 'the answers were refreshed').not.toBe(first)
      } finally {
        await cache.close()
      }
    })

    needing(
      sharedMissing(),
      'shared: neverDie: what one process refreshes in the background is what another process reads',
      async () => {
        const [one, two] = twoProcesses()
        let computations = 0
        const options = { ttl: '200ms', neverDie: { at: 0.5 } } as const
        const compute = async (n: number) => `${n}v${++computations}`
        const f1 = one.wrap('KEPT', compute, options)
        const f2 = two.wrap('KEPT', compute, options)
        const missesThere: string[] = []
        two.on('miss', ({ key }) => missesThere.push(key))
        try {
          expect(await f1(1)).toBe('1v1')
          for (let i = 0; i < 8; i++) {
            await sleep(40)
            await f1(1)
          }
          expect(computations, 'refreshed in the background').toBeGreaterThanOrEqual(3)
          const there = await f2(1)
          expect(there, 'the other process reads a refreshed result').not.toBe('1v1')
          expect(Number(there.slice(2))).toBeGreaterThanOrEqual(2)
          expect(missesThere, 'the other process found it fresh').toEqual([])
        } finally {
          await closeAll(one, two)
        }
      },
    )

    needing(
      sharedMissing(),
      'shared: staleWhileRevalidate: another process answers the expired result at once, and its background refresh is what the first reads',
      async () => {
        const [one, two] = twoProcesses()
        let version = 1
        let computations = 0
        const compute = async (n: number) => {
          computations++
          return `${n}v${version}`
        }
        const options = { ttl: '150ms', staleWhileRevalidate: '10s' } as const
        const f1 = one.wrap('SWR', compute, options)
        const f2 = two.wrap('SWR', compute, options)
        const staleThere: string[] = []
        two.on('stale', ({ reason }) => staleThere.push(reason))
        try {
          expect(await f1(1)).toBe('1v1')
          version = 2
          await sleep(300)
          const refreshed = nextStore(two)
          expect(await f2(1), 'answered from the expired result').toBe('1v1')
          expect(staleThere).toEqual(['staleWhileRevalidate'])
          await refreshed // in the background, in the other process
          expect(computations).toBe(2)
          expect(await f1(1), 'the refresh stored in the other process').toBe('1v2')
          expect(computations).toBe(2)
        } finally {
          await closeAll(one, two)
        }
      },
    )

    needing(
      sharedMissing(),
      'shared: failSafe never answers with a result another process invalidated (result, function, domain)',
      async () => {
        const [one, two] = twoProcesses()
        class Outage extends Error {}
        let failing = false
        const compute = async (n: number) => {
          if (failing) throw new Outage(`down (${n})`)
          return `${n}v1`
        }
        const options = { ttl: '100ms', failSafe: '10s' } as const
        const f = one.wrap('F', compute, options)
        const g = one.wrap('G', compute, options)
        const stale: string[] = []
        one.on('stale', ({ reason }) => stale.push(reason))
        try {
          for (const n of [1, 2, 3]) await f(n)
          for (const n of [1, 2]) await g(n)
          await sleep(250)
          failing = true
          // Expired and still valid: the failure is answered with it.
          expect(await f(2)).toBe('2v1')
          expect(stale).toEqual(['failSafe'])
          await two.invalidateResult('F', 1)
          expect((await settled(() => f(1))).error).toBeInstanceOf(Outage)
          expect(await f(2)).toBe('2v1')
          await two.invalidateFunc('F')
          expect((await settled(() => f(2))).error).toBeInstanceOf(Outage)
          expect((await settled(() => f(3))).error).toBeInstanceOf(Outage)
          expect(await g(1)).toBe('1v1')
          await two.invalidateDomain()
          expect((await settled(() => g(1))).error).toBeInstanceOf(Outage)
          expect((await settled(() => g(2))).error).toBeInstanceOf(Outage)
        } finally {
          await closeAll(one, two)
        }
      },
    )

    const lockMissing = !kit.shared
      ? `${NOT_SHARED}; single-flight already computes once per process`
      : kit.computationLock
        ? undefined
        : UNLOCK_ATOMICS
    needing(
      lockMissing,
      'shared: lock + staleWhileRevalidate: a stampede on an expired key from two processes is answered from stale at once, and refreshed once overall',
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const [one, two] = twoProcesses(domainKey)
        let version = 1
        let computations = 0
        const compute = async (n: number) => {
          computations++
          const seen = version
          await sleep(150)
          return `${n}v${seen}`
        }
        const options = {
          ttl: '200ms',
          staleWhileRevalidate: '10s',
          lock: { ttl: '5s', wait: '3s' },
        } as const
        const f1 = one.wrap('HOT', compute, options)
        const f2 = two.wrap('HOT', compute, options)
        const stale: string[] = []
        for (const cache of [one, two]) cache.on('stale', ({ reason }) => stale.push(reason))
        try {
          expect(await f1(1)).toBe('1v1')
          version = 2
          // Past the ttl, and older than what a lock waiter would take for a result stored meanwhile.
          await sleep(550)
          const refreshed = Promise.race([nextStore(one), nextStore(two)])
          const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? f1 : f2)(1)))
          expect(answers, 'every call answered from stale, none waited').toEqual(Array(20).fill('1v1'))
          expect(stale).toEqual(Array(20).fill('staleWhileRevalidate'))
          // Both processes' refreshes have started by the time one has stored; close() waits for them.
          await refreshed
          await closeAll(one, two)
          expect(computations, 'the first computation, and one refresh for both processes').toBe(2)
          // A third process reads the refreshed result.
          const third = cacheOn(harness.backendOfAnotherProcess(), { domainKey })
          expect(await third.wrap('HOT', compute, options)(1)).toBe('1v2')
          expect(computations).toBe(2)
          await third.close()
        } finally {
          await closeAll(one, two)
        }
      },
    )

    needing(
      lockMissing ??
        (kit.sync ? undefined : 'an asynchronous backend: every call waits for the lock (the case above)'),
      'shared: lock with a synchronous function: a call that finds the lock held by another process answers the result failSafe keeps at once (stale, reason lock), never blocking',
      async () => {
        const [one, two] = twoProcesses()
        let version = 1
        let computations = 0
        // What the other process's call answered while this one held the lock, computing.
        let meanwhile: unknown
        const there = { call: (_n: number): unknown => undefined }
        const options = { ttl: '100ms', failSafe: '10s', lock: { ttl: '5s' } } as const
        const f1 = one.wrap(
          'SYNC',
          (n: number) => {
            computations++
            if (version === 2) meanwhile = there.call(n)
            return `${n}v${version}`
          },
          options,
        )
        const f2 = two.wrap(
          'SYNC',
          (n: number) => {
            computations++
            return `${n}v${version}`
          },
          options,
        )
        there.call = f2
        const staleThere: string[] = []
        two.on('stale', ({ reason }) => staleThere.push(reason))
        try {
          expect(f1(1)).toBe('1v1')
          await sleep(200) // past the ttl: kept for failSafe
          version = 2
          expect(f1(1)).toBe('1v2')
          expect(meanwhile, 'the other process answered the kept result, synchronously').toBe('1v1')
          expect(staleThere).toEqual(['lock'])
          expect(computations, 'the other process did not compute').toBe(2)
          // Released: the other process now reads the new result.
          expect(f2(1)).toBe('1v2')
          expect(computations).toBe(2)
        } finally {
          await closeAll(one, two)
        }
      },
    )

    it.skipIf(!kit.shared || kit.computationLock)(
      'shared: lock is refused at wrap where the shared store cannot lock, saying so',
      async () => {
        const cache = newCache()
        expect(() => cache.wrap('HOT', async (n: number) => n, { lock: true })).toThrow(
          /has no setNx\/deleteIfEquals to lock with/,
        )
        await cache.close()
      },
    )

    needing(
      kit.listing ? undefined : UNLOCK_LISTING,
      'expiry management: flushExpired removes the expired results of one function and answers how many; clearFunc removes them all',
      async () => {
        const cache = newCache()
        const computations = { flushed: 0, kept: 0 }
        const f = cache.wrap(
          'FLUSHED',
          async (n: number) => {
            computations.flushed++
            return n
          },
          { ttl: '1h' },
        )
        const g = cache.wrap(
          'OTHER',
          async (n: number) => {
            computations.kept++
            return n
          },
          { ttl: '1h' },
        )
        try {
          await f(1)
          await f(2)
          await g(1)
          await sleep(300)
          await f(3)
          f.setExpiry('150ms') // 1 and 2 are now expired, 3 is not
          expect(await f.flushExpired()).toBe(2)
          expect(await f.flushExpired()).toBe(0)
          await f(3)
          expect(computations.flushed, 'the result not expired stays').toBe(3)
          const cleared = await cache.clearFunc('FLUSHED')
          // Exactly the one result: clearFunc's own invalidation leaves the dead results to it (a background
          // reclamation racing its delete made the count short on Redis).
          expect(cleared).toBe(1)
          f.setExpiry('1ms')
          await sleep(5)
          expect(await f.flushExpired(), 'clearFunc left a result in the store').toBe(0)
          f.setExpiry('1h')
          await f(3)
          expect(computations.flushed).toBe(4)
          // Another function's results are not touched.
          expect(await cache.flushExpired('OTHER')).toBe(0)
          await g(1)
          expect(computations.kept).toBe(1)
        } finally {
          await cache.close()
        }
      },
    )

    it.skipIf(kit.listing)(
      'expiry management where the store cannot list keys: flushExpired is NotSupportedError; clearFunc still invalidates, removing nothing now',
      async () => {
        const cache = newCache()
        let computations = 0
        const f = cache.wrap(
          'FLUSHED',
          async (n: number) => {
            computations++
            return n
          },
          { ttl: '1h' },
        )
        try {
          await f(1)
          expect((await settled(() => f.flushExpired())).error).toBeInstanceOf(NotSupportedError)
          expect(await cache.clearFunc('FLUSHED')).toBe(0)
          await f(1)
          expect(computations).toBe(2)
        } finally {
          await cache.close()
        }
      },
    )
  })
}
