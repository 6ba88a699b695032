import { Flights } from './flights.js'

/** The generation of one scope (a domain or a function) under local coordination. */
export interface GenerationCounter {
  value: number
}

/**
 * State that belongs to one backend instance rather than to one cache: two caches over the same
 * instance share their running computations, their local generations and their function registry.
 */
export class BackendState {
  readonly flights = new Flights()
  /**
   * Generation tokens being created, by key: concurrent first calls in this process share one token,
   * so they share one computation even on a backend without an atomic `setNx`.
   */
  readonly creatingGenerations = new Map<string, Promise<string>>()
  /**
   * Result generations not written yet, by key: on a backend with `setGuarded`, a miss picks the token
   * and writes it with the result. Concurrent callers in this process take the same token, so they share
   * the computation; the entry goes once its computation has stored (or failed).
   */
  readonly provisionalGenerations = new Map<string, { readonly token: string; readonly at: number }>()
  /**
   * Counts invalidations applied through this process. A synchronous computation needs no registration
   * to be protected: if the count moved while it ran (the function invalidated something), it does not
   * store.
   */
  invalidations = 0
  private readonly generations = new Map<string, GenerationCounter>()
  private readonly functionKeys = new Map<string, Set<string>>()

  /** The local generation counter of a scope (created at 0). */
  generation(scope: string): GenerationCounter {
    let counter = this.generations.get(scope)
    if (counter === undefined) {
      counter = { value: 0 }
      this.generations.set(scope, counter)
    }
    return counter
  }

  /**
   * Registers a function key in a domain namespace; false if it is already taken. With a `storeId`, the
   * registry is the store's, shared by every backend instance of this process over that store (two
   * caches built from `SqliteBackend` open the same default file); without one, the instance's.
   */
  claimFunctionKey(namespace: string, functionKey: string, storeId?: string): boolean {
    const registry = storeId === undefined ? this.functionKeys : storeFunctionKeys
    const scope = storeId === undefined ? namespace : `${storeId}\0${namespace}`
    let keys = registry.get(scope)
    if (keys === undefined) {
      keys = new Set()
      registry.set(scope, keys)
    }
    if (keys.has(functionKey)) return false
    keys.add(functionKey)
    return true
  }

  releaseFunctionKey(namespace: string, functionKey: string, storeId?: string): void {
    if (storeId === undefined) this.functionKeys.get(namespace)?.delete(functionKey)
    else storeFunctionKeys.get(`${storeId}\0${namespace}`)?.delete(functionKey)
  }
}

const states = new WeakMap<object, BackendState>()

/** Function keys claimed per store (backends that declare a `storeId`), across backend instances. */
const storeFunctionKeys = new Map<string, Set<string>>()

export function backendState(backend: object): BackendState {
  let state = states.get(backend)
  if (state === undefined) {
    state = new BackendState()
    states.set(backend, state)
  }
  return state
}
