import { PROVISIONAL_STORE_WINDOW_MS } from './invalidation-markers.js'

/**
 * One computation of one key in this process. `stamp` is the generation state it started under:
 * only callers that observe the same stamp may share its result, and a poisoned flight (its result was
 * invalidated while it ran) never stores.
 */
/** The result generation a computation's store is guarded by (see `guardOf` in shared-generations.ts). */
export interface FlightGuard {
  readonly key: string
  readonly token: string
  /** Picked by this process for an absent generation, rather than read. */
  readonly provisional: boolean
}

export interface Flight {
  /** The backend key it computes. */
  readonly key: string
  readonly stamp: string
  /** Local generations at the start (local coordination only). */
  readonly domainGeneration: number
  readonly functionGeneration: number
  /** When the generations the stamp comes from were read (`performance.now()`), for the store window. */
  readonly startedAt: number
  poisoned: boolean
  /**
   * The provisional result generation this computation's stamp was built on, if any: its store creates
   * it with the result (`setGuarded`), within the store window.
   */
  readonly guard: FlightGuard | undefined
  promise: Promise<unknown> | undefined
  /** Whether it is in the registry (asynchronous computations only: nothing can join a synchronous one). */
  readonly registered: boolean
}

/** The computations running in this process, by backend key: single-flight and late-write detection. */
export class Flights {
  private readonly running = new Map<string, Flight>()
  /**
   * Every registered computation until it finishes, including those a newer one replaced in `running`
   * or an invalidation poisoned: `close()` waits for all of them.
   */
  private readonly unfinished = new Set<Flight>()

  /** A running asynchronous computation that a caller observing `stamp` may join. */
  joinable(key: string, stamp: string): Promise<unknown> | undefined {
    const flight = this.running.get(key)
    if (flight === undefined || flight.poisoned || flight.stamp !== stamp) return undefined
    // A stamp on a provisional generation proves nothing once the store window is over: an invalidation
    // marker may have come and gone since the flight started.
    if (flight.guard !== undefined && performance.now() - flight.startedAt > PROVISIONAL_STORE_WINDOW_MS)
      return undefined
    return flight.promise
  }

  /** Registers a running asynchronous computation, replacing any earlier one for the key. */
  start(
    key: string,
    stamp: string,
    domainGeneration: number,
    functionGeneration: number,
    poisoned: boolean,
    startedAt: number,
    guard: FlightGuard | undefined,
  ): Flight {
    const flight = describe(
      key,
      stamp,
      domainGeneration,
      functionGeneration,
      poisoned,
      startedAt,
      guard,
      true,
    )
    this.running.set(key, flight)
    this.unfinished.add(flight)
    return flight
  }

  /** A finished synchronous computation: described like a flight, never registered. */
  static completed(
    stamp: string,
    domainGeneration: number,
    functionGeneration: number,
    poisoned: boolean,
    startedAt: number,
    guard: FlightGuard | undefined,
  ): Flight {
    return describe('', stamp, domainGeneration, functionGeneration, poisoned, startedAt, guard, false)
  }

  finish(key: string, flight: Flight): void {
    if (!flight.registered) return
    this.unfinished.delete(flight)
    if (this.running.get(key) === flight) this.running.delete(key)
  }

  /** Whether a computation of `key` is registered (a refresh supersedes it). */
  has(key: string): boolean {
    return this.running.has(key)
  }

  /** The running computations whose keys start with `prefix` (for `cache.close()` to wait on). */
  runningUnder(prefix: string): Promise<unknown>[] {
    const out: Promise<unknown>[] = []
    for (const flight of this.unfinished) {
      if (flight.promise !== undefined && flight.key.startsWith(prefix)) out.push(flight.promise)
    }
    return out
  }

  /** An invalidated key: its running computation must not store, and nobody may join it. */
  poison(key: string): void {
    const flight = this.running.get(key)
    if (flight === undefined) return
    flight.poisoned = true
    this.running.delete(key)
  }
}

function describe(
  key: string,
  stamp: string,
  domainGeneration: number,
  functionGeneration: number,
  poisoned: boolean,
  startedAt: number,
  guard: FlightGuard | undefined,
  registered: boolean,
): Flight {
  const promise = undefined
  return { key, stamp, domainGeneration, functionGeneration, startedAt, poisoned, guard, promise, registered }
}
