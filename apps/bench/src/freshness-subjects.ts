import { MemoryBackend } from '@rapide/backend-memory'
import { RedisBackend } from '@rapide/backend-redis'
import { type AnyBackend, type Cache, createCache, type WrapOptions } from '@rapide/core'
import { type Customer, HOT_KEYS, loadCustomer, MAX_ENTRIES } from './workload.js'

/** The freshness options measured against a plain hit, each alone, with the same ttl. */
export const FRESHNESS_OPTIONS = ['plain', 'neverDie', 'staleWhileRevalidate', 'earlyRefresh'] as const
export type FreshnessOption = (typeof FRESHNESS_OPTIONS)[number]
/** The stale-serving hit: past its ttl, within stale-while-revalidate. */
export const STALE = 'stale hit (SWR)'
export type FreshnessCase = FreshnessOption | typeof STALE

/** Every case: the options, then the stale hit. */
const ALL_CASES: readonly FreshnessCase[] = [...FRESHNESS_OPTIONS, STALE]

/** How each case wraps the function: a ttl of an hour keeps every result fresh while it is measured. */
const WRAP: Record<FreshnessCase, WrapOptions<[id: number]>> = {
  plain: { ttl: '1h' },
  neverDie: { ttl: '1h', neverDie: true },
  staleWhileRevalidate: { ttl: '1h', staleWhileRevalidate: '1h' },
  earlyRefresh: { ttl: '1h', earlyRefresh: true },
  // Stale 50 ms after being stored, and answered as stale for an hour after that.
  [STALE]: { ttl: '50ms', staleWhileRevalidate: '1h' },
}

/** How long the stale case waits after warming, so that every result is past its ttl. */
const STALE_AFTER_MS = 100

/** One wrapped function of one case on one backend, warmed (every hot key stored) and ready to call. */
export interface FreshnessSubject {
  readonly lane: string
  readonly option: FreshnessCase
  readonly async: boolean
  /** Hits measured with this many calls in flight (1: one after another). */
  readonly inFlight: number
  readonly call: (id: number) => unknown
  /** Background refreshes the function was asked for while measured (the stale case: one per key). */
  readonly refreshes: () => number
  close(): Promise<void>
}

/**
 * The function the stale case wraps: after warming it is "held", so each background refresh the stale
 * hits schedule stays under way (one per key: a key with a refresh under way schedules no other) and every
 * hit keeps meeting a stale result. Released before the cache closes, which waits for the refreshes.
 */
function heldLoader() {
  let held = false
  let refreshes = 0
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  return {
    load: async (id: number): Promise<Customer> => {
      if (held) {
        refreshes++
        await released
      }
      return loadCustomer(id)
    },
    hold: () => {
      held = true
    },
    release,
    refreshes: () => refreshes,
  }
}

async function warm(call: (id: number) => unknown): Promise<void> {
  for (let id = 0; id < HOT_KEYS; id++) await call(id)
}

async function subject<B extends AnyBackend>(
  lane: string,
  option: FreshnessCase,
  fnKind: 'sync' | 'async',
  inFlight: number,
  cache: Cache<B>,
  closeBackend: () => unknown,
): Promise<FreshnessSubject> {
  const loader = heldLoader()
  const call =
    fnKind === 'sync'
      ? cache.wrap('LOAD_CUSTOMER', loadCustomer, WRAP[option])
      : cache.wrap('LOAD_CUSTOMER', loader.load, WRAP[option])
  await warm(call)
  if (option === STALE) {
    loader.hold()
    await new Promise((resolve) => setTimeout(resolve, STALE_AFTER_MS))
  }
  return {
    lane,
    option,
    async: fnKind === 'async' || inFlight > 1,
    inFlight,
    call,
    refreshes: loader.refreshes,
    close: async () => {
      loader.release()
      await cache.close()
      await closeBackend()
    },
  }
}

/**
 * The memory backend's cases: a synchronous function (no stale case: its background refresh cannot be
 * held under way, it finishes within a tick and the result is fresh again) and an asynchronous one. Each
 * case has its own cache and `MemoryBackend({ maxEntries: 10 000 })`, like the peers' rows.
 */
export async function memoryFreshnessSubjects(): Promise<FreshnessSubject[]> {
  const subjects: FreshnessSubject[] = []
  for (const [fnKind, cases] of [
    ['sync', FRESHNESS_OPTIONS],
    ['async', ALL_CASES],
  ] as const) {
    for (const option of cases) {
      const cache = createCache({
        domainKey: `FRESH_${fnKind.toUpperCase()}`,
        backend: new MemoryBackend({ maxEntries: MAX_ENTRIES }),
      })
      subjects.push(await subject(`memory (${fnKind} fn)`, option, fnKind, 1, cache, () => {}))
    }
  }
  return subjects
}

/**
 * The Redis cases, measured with one and with `inFlight` calls in flight: each case on its own
 * `RedisBackend` (default options, its own connection) and its own domain on the one server.
 */
export async function redisFreshnessSubjects(url: string, inFlight: number): Promise<FreshnessSubject[]> {
  const subjects: FreshnessSubject[] = []
  for (const lanes of [1, inFlight]) {
    for (const option of ALL_CASES) {
      const backend = new RedisBackend({ url })
      const cache = createCache({ domainKey: `FRESH_${lanes}_${subjects.length}`, backend })
      const lane = lanes === 1 ? 'Redis (async fn), 1 in flight' : `Redis (async fn), ${lanes} in flight`
      subjects.push(await subject(lane, option, 'async', lanes, cache, () => backend.close()))
    }
  }
  return subjects
}
