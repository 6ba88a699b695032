import {
  type Accelerations,
  type AnyBackend,
  type BackendEntry,
  checkOptions,
  InvalidOptionError,
  type ScopedStore,
} from '@rapide/core'

/**
 * The backend operations a fault can target (the methods of the storage contract). `getIn` and `setIn`
 * are a scoped view's `get` and `set` (`accelerations().scope(namespace)`; contract version 1's flat
 * methods of those names); `setGuarded` and `reclaimPrefix` are the accelerations of those names.
 */
export type BackendOperation =
  | 'get'
  | 'getIn'
  | 'getMany'
  | 'set'
  | 'setIn'
  | 'setMany'
  | 'delete'
  | 'deleteMany'
  | 'setNx'
  | 'setGuarded'
  | 'deleteIfEquals'
  | 'incr'
  | 'expire'
  | 'keys'
  | 'deletePrefix'
  | 'reclaimPrefix'
  | 'ping'
  | 'close'

/** Operations that return stored bytes: the only ones a `corrupt` fault applies to. */
export const READ_OPERATIONS: readonly BackendOperation[] = ['get', 'getIn', 'getMany']

/** Operations that change the store. */
export const WRITE_OPERATIONS: readonly BackendOperation[] = [
  'set',
  'setIn',
  'setMany',
  'setGuarded',
  'setNx',
  'delete',
  'deleteMany',
  'deleteIfEquals',
  'incr',
  'expire',
  'deletePrefix',
  'reclaimPrefix',
]

/** Operations that store a value and answer nothing: what a `drop` fault targets by default. */
export const STORE_OPERATIONS: readonly BackendOperation[] = ['set', 'setIn', 'setMany', 'setGuarded']

const DATA_OPERATIONS: readonly BackendOperation[] = [...READ_OPERATIONS, ...WRITE_OPERATIONS, 'keys', 'ping']
const ALL_OPERATIONS: readonly BackendOperation[] = [...DATA_OPERATIONS, 'close']

/** What a dropped write answers: the answer of a write that succeeded (a lie, which is the point). */
const DROPPED_ANSWER: Partial<Record<BackendOperation, (args: readonly unknown[]) => unknown>> = {
  set: () => undefined,
  setIn: () => undefined,
  setMany: () => undefined,
  setGuarded: () => undefined,
  setNx: () => true,
  delete: () => true,
  deleteMany: (args) => (args[0] as readonly string[]).length,
  deleteIfEquals: () => true,
  expire: () => true,
  deletePrefix: () => 0,
  reclaimPrefix: () => undefined,
}

/** Which operations and keys a fault applies to, how often and how many times. */
export interface FaultTarget {
  /**
   * The operations it applies to. Default: reads for `corrupt`, {@link STORE_OPERATIONS} for `drop`,
   * every operation but `close` for `delay` and `fail`.
   */
  readonly operations?: readonly BackendOperation[]
  /**
   * The keys it applies to: one key, a list, a RegExp or a predicate. An operation on several keys
   * (`getMany`, `setMany`, `setGuarded`, `deleteMany`) matches if one of its keys does (a `corrupt`
   * fault then alters only the matching slots); `keys`, `deletePrefix` and `reclaimPrefix` are matched
   * by their prefix, `ping` and `close` by `''`. Default: every key.
   */
  readonly keys?: string | readonly string[] | RegExp | ((key: string) => boolean)
  /** The chance that a matching operation is hit, drawn from the seeded generator. Default 1. */
  readonly probability?: number
  /** Hit at most this many operations (slots, for `corrupt`), then stay inert. Default: no limit. */
  readonly times?: number
}

/**
 * Returns altered bytes. `flip` XORs one byte (at `at`, or a seeded position) with a seeded non-zero
 * mask; `truncate` cuts the value to `at` bytes (or a seeded shorter length); `swap` returns the value
 * of another key instead (`swapWith`, or a seeded pick among keys recently written through the wrapper
 * whose value differs). Only for byte-storing backends (not `capabilities.inProcessValues`).
 */
export interface CorruptFault extends FaultTarget {
  readonly kind: 'corrupt'
  readonly how?: 'flip' | 'truncate' | 'swap'
  /** `flip`: the byte position (taken modulo the length); `truncate`: the length kept. */
  readonly at?: number
  /** `swap`: the key whose value is returned. */
  readonly swapWith?: string
}

/**
 * Makes operations slow: `request` (default) reaches the store after `ms` (a late write lands late);
 * `response` is applied at once and answered after `ms` (a late read answers with old data). Only for
 * asynchronous backends: a synchronous one cannot be slow without returning promises. If the backend
 * declares `operationTimeoutMs`, a delayed operation fails after it, as the backend promises, and is
 * still applied in the background (what a real network does).
 */
export interface DelayFault extends FaultTarget {
  readonly kind: 'delay'
  readonly ms: number
  readonly phase?: 'request' | 'response'
}

/**
 * The write is acknowledged (with the answer of a successful write: `true` for `setNx`, the key count
 * for `deleteMany`...) but never reaches the store: a lost write.
 */
export interface DropFault extends FaultTarget {
  readonly kind: 'drop'
}

/**
 * The operation throws (synchronous backend) or rejects (asynchronous backend) with
 * {@link InjectedFaultError} or the error `error` returns. With `applied: true`, it is applied first and
 * then reported failed: the "outcome unknown" of a connection lost after sending.
 */
export interface FailFault extends FaultTarget {
  readonly kind: 'fail'
  readonly error?: (operation: BackendOperation) => unknown
  readonly applied?: boolean
}

export type Fault = CorruptFault | DelayFault | DropFault | FailFault
export type FaultKind = Fault['kind']

/** One injected fault; `remove()` stops it (operations already delayed still finish late). */
export interface FaultHandle {
  /** How many operations (slots, for `corrupt`) it has hit so far. */
  readonly injected: number
  remove(): void
}

/** One operation the wrapper was asked to run, in call order. */
export interface OperationRecord {
  readonly operation: BackendOperation
  readonly keys: readonly string[]
  /** `performance.now()` when the operation was called. */
  readonly at: number
  /** The faults it was hit by. */
  readonly faults: readonly FaultKind[]
}

/** The switches of a {@link withFaults} backend. */
export interface FaultController {
  /** The seed of the generator behind probabilities, positions and masks. */
  readonly seed: number
  /** Adds a fault; it applies to operations called from now on. */
  inject(fault: Fault): FaultHandle
  /** Removes every fault. */
  clear(): void
  /** How many times each kind of fault was injected since the wrapper was made. */
  readonly injected: Readonly<Record<FaultKind, number>>
  /** The last 10 000 operations, oldest first. */
  readonly history: readonly OperationRecord[]
}

/** A backend wrapped by {@link withFaults}: the same backend, plus its fault switches. */
export type FaultyBackend<B extends AnyBackend> = B & { readonly faults: FaultController }

/** Options of {@link withFaults}. */
export interface WithFaultsOptions {
  /** Seeds the generator: the same seed and the same calls give the same faults. Default `0x5eed`. */
  seed?: number
  /** Faults active from the start. */
  faults?: readonly Fault[]
}

/** The error a `fail` fault throws by default. */
export class InjectedFaultError extends Error {
  readonly code = 'E_INJECTED_FAULT'
  constructor(readonly operation: BackendOperation) {
    super(`Injected fault: ${operation} failed`)
    this.name = 'InjectedFaultError'
  }
}

/**
 * Wraps a backend to corrupt what it returns, delay, drop or fail its operations, controllably and
 * deterministically (bentocache's chaos driver, for rapide's contract). The wrapper declares the same
 * name, capabilities, optional methods, accelerations and `storeId` as the backend, and keeps its
 * synchronous answers synchronous; every other property is forwarded. What `accelerations()` returns is
 * wrapped too (its scoped views, `setGuarded`, `reclaimPrefix`), so faults reach the core's fast paths;
 * a contract version 1 backend's flat `getIn`/`setIn`/`setGuarded`/`reclaimPrefix` likewise. Faults are
 * switched on and off while a test runs through `faults`.
 *
 * Refused, with an {@link InvalidOptionError}: `corrupt` on an `inProcessValues` backend (it stores
 * values, not bytes), `delay` on a synchronous backend, `drop` of an operation that has no success
 * answer to invent (`incr`, reads).
 *
 * @example
 * import { withFaults } from '@rapide/conformance'
 *
 * const backend = withFaults(new MyBackend(), { seed: 7 })
 * const cache = createCache({ domainKey: 'APP', backend, timeout: '100ms' })
 * // Every read of one entry returns it with a byte flipped:
 * const flips = backend.faults.inject({ kind: 'corrupt', how: 'flip', keys: entryKey })
 * // Every operation answers after 2 s (beyond the cache's timeout):
 * backend.faults.inject({ kind: 'delay', ms: 2000 })
 * // One write in two is acknowledged but lost:
 * backend.faults.inject({ kind: 'drop', probability: 0.5 })
 * flips.remove()
 * backend.faults.clear()
 */
export function withFaults<B extends AnyBackend>(
  backend: B,
  options: WithFaultsOptions = {},
): FaultyBackend<B> {
  checkOptions(options, ['seed', 'faults'], 'withFaults()')
  if (typeof backend !== 'object' || backend === null || typeof backend.get !== 'function') {
    throw new InvalidOptionError('withFaults(): the first argument must be a backend')
  }
  const seed = options.seed ?? 0x5eed
  if (!Number.isInteger(seed))
    throw new InvalidOptionError(`withFaults(): seed must be an integer, got ${seed}`)
  const injector = new FaultInjector(backend, seed)
  for (const fault of options.faults ?? []) injector.inject(fault)
  const wrappers = new Map<PropertyKey, unknown>()
  const methods = backend as unknown as Record<string, unknown>
  for (const operation of ALL_OPERATIONS) {
    const method = methods[operation]
    if (typeof method === 'function') {
      wrappers.set(operation, (...args: unknown[]) =>
        injector.run(operation, args, () => method.apply(backend, args)),
      )
    }
  }
  const accelerations = methods.accelerations
  if (backend.specificationVersion !== 1 && typeof accelerations === 'function') {
    wrappers.set('accelerations', () =>
      injector.wrapAccelerations(accelerations.call(backend) as Accelerations<boolean, unknown>),
    )
  }
  return new Proxy(backend, {
    get(target, property) {
      if (property === 'faults') return injector
      const wrapper = wrappers.get(property)
      if (wrapper !== undefined) return wrapper
      const value: unknown = Reflect.get(target, property, target)
      // Backend-specific methods run on the backend itself (private fields need the real `this`).
      return typeof value === 'function' ? value.bind(target) : value
    },
    has(target, property) {
      return property === 'faults' || Reflect.has(target, property)
    },
  }) as FaultyBackend<B>
}

interface ActiveFault {
  readonly fault: Fault
  readonly operations: ReadonlySet<BackendOperation>
  readonly matches: (key: string) => boolean
  injected: number
}

type Maybe<T> = T | Promise<T>

const HISTORY_LIMIT = 10_000
const RECENT_LIMIT = 64

class FaultInjector implements FaultController {
  private active: ActiveFault[] = []
  /** The backend's own bound (`operationTimeoutMs`), as its accelerations last declared it. */
  private ownBound: number | undefined
  private readonly random: () => number
  private readonly recentWrites: string[] = []
  readonly injected: Record<FaultKind, number> = { corrupt: 0, delay: 0, drop: 0, fail: 0 }
  readonly history: OperationRecord[] = []

  constructor(
    private readonly backend: AnyBackend,
    readonly seed: number,
  ) {
    this.random = mulberry32(seed)
    if (backend.specificationVersion === 1) this.ownBound = backend.operationTimeoutMs
  }

  /** The backend's accelerations, each operation going through the faults like the backend's methods. */
  wrapAccelerations(given: Accelerations<boolean, unknown>): Accelerations<boolean, unknown> {
    if (typeof given !== 'object' || given === null) return given
    this.ownBound = given.operationTimeoutMs
    const wrapped: Accelerations<boolean, unknown> = { ...given }
    const { scope, setGuarded, reclaimPrefix } = given
    if (typeof scope === 'function') {
      wrapped.scope = (namespace: string) => {
        const view = scope.call(given, namespace)
        return {
          get: (key: string) => this.run('getIn', [namespace, key], () => view.get(key)),
          set: (key: string, value: unknown, ttlMs: number | undefined) =>
            this.run('setIn', [namespace, key, value, ttlMs], () => view.set(key, value, ttlMs)),
        } as ScopedStore<boolean, unknown>
      }
    }
    if (typeof setGuarded === 'function') {
      wrapped.setGuarded = ((guard: BackendEntry<unknown>, entry: BackendEntry<unknown>) =>
        this.run('setGuarded', [guard, entry], () => setGuarded.call(given, guard, entry))) as Accelerations<
        boolean,
        unknown
      >['setGuarded']
    }
    if (typeof reclaimPrefix === 'function') {
      wrapped.reclaimPrefix = ((prefix: string) =>
        this.run('reclaimPrefix', [prefix], () => reclaimPrefix.call(given, prefix))) as Accelerations<
        boolean,
        unknown
      >['reclaimPrefix']
    }
    return wrapped
  }

  inject(fault: Fault): FaultHandle {
    const active = this.validate(fault)
    this.active.push(active)
    return {
      get injected() {
        return active.injected
      },
      remove: () => {
        this.active = this.active.filter((a) => a !== active)
      },
    }
  }

  clear(): void {
    this.active = []
  }

  private validate(fault: Fault): ActiveFault {
    const where = 'withFaults: inject()'
    if (typeof fault !== 'object' || fault === null)
      throw new InvalidOptionError(`${where} needs a fault object`)
    const common = ['kind', 'operations', 'keys', 'probability', 'times']
    const { capabilities, name } = this.backend
    let defaults: readonly BackendOperation[]
    let allowed: readonly BackendOperation[]
    switch (fault.kind) {
      case 'corrupt':
        checkOptions(fault, [...common, 'how', 'at', 'swapWith'], where)
        if (capabilities.inProcessValues) {
          throw new InvalidOptionError(
            `${where}: backend "${name}" keeps values in process (inProcessValues), it has no bytes to corrupt`,
          )
        }
        if (fault.how !== undefined && !['flip', 'truncate', 'swap'].includes(fault.how)) {
          throw new InvalidOptionError(`${where}: corrupt.how must be 'flip', 'truncate' or 'swap'`)
        }
        defaults = READ_OPERATIONS
        allowed = READ_OPERATIONS
        break
      case 'delay':
        checkOptions(fault, [...common, 'ms', 'phase'], where)
        if (capabilities.sync) {
          throw new InvalidOptionError(
            `${where}: backend "${name}" is synchronous; a delay would turn its answers into promises, which the core never expects from it`,
          )
        }
        if (!(typeof fault.ms === 'number' && fault.ms >= 0 && Number.isFinite(fault.ms))) {
          throw new InvalidOptionError(`${where}: delay.ms must be a finite number of ms >= 0`)
        }
        if (fault.phase !== undefined && fault.phase !== 'request' && fault.phase !== 'response') {
          throw new InvalidOptionError(`${where}: delay.phase must be 'request' or 'response'`)
        }
        defaults = DATA_OPERATIONS
        allowed = ALL_OPERATIONS
        break
      case 'drop':
        checkOptions(fault, common, where)
        defaults = STORE_OPERATIONS
        allowed = Object.keys(DROPPED_ANSWER) as BackendOperation[]
        break
      case 'fail':
        checkOptions(fault, [...common, 'error', 'applied'], where)
        defaults = DATA_OPERATIONS
        allowed = ALL_OPERATIONS
        break
      default:
        throw new InvalidOptionError(
          `${where}: unknown fault kind ${JSON.stringify((fault as { kind: unknown }).kind)} (corrupt, delay, drop or fail)`,
        )
    }
    const operations = fault.operations ?? defaults
    for (const operation of operations) {
      if (!allowed.includes(operation)) {
        throw new InvalidOptionError(
          `${where}: a ${fault.kind} fault cannot apply to ${JSON.stringify(operation)} (allowed: ${allowed.join(', ')})`,
        )
      }
    }
    const { probability = 1, times } = fault
    if (!(typeof probability === 'number' && probability >= 0 && probability <= 1)) {
      throw new InvalidOptionError(`${where}: probability must be between 0 and 1`)
    }
    if (times !== undefined && !(Number.isInteger(times) && times >= 0)) {
      throw new InvalidOptionError(`${where}: times must be an integer >= 0`)
    }
    return { fault, operations: new Set(operations), matches: keyMatcher(fault.keys), injected: 0 }
  }

  /** Whether `active` hits this operation (or slot): matching, within `times`, and lucky. */
  private hits(active: ActiveFault, operation: BackendOperation, keys: readonly string[]): boolean {
    if (!active.operations.has(operation)) return false
    if (!keys.some(active.matches)) return false
    const { times, probability = 1 } = active.fault
    if (times !== undefined && active.injected >= times) return false
    if (probability < 1 && this.random() >= probability) return false
    active.injected++
    this.injected[active.fault.kind]++
    return true
  }

  /** Runs one operation (`call` does it on the backend) through the active faults. */
  run(operation: BackendOperation, args: unknown[], call: () => unknown): unknown {
    const keys = keysOf(operation, args)
    const record: { faults: FaultKind[] } = { faults: [] }
    this.history.push({ operation, keys, at: performance.now(), faults: record.faults })
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT)
    if (STORE_OPERATIONS.includes(operation) || operation === 'setNx') this.remember(keys)

    let requestDelay = 0
    let responseDelay = 0
    let fail: FailFault | undefined
    let drop = false
    const corrupt: ActiveFault[] = []
    for (const active of this.active) {
      const { fault } = active
      if (fault.kind === 'corrupt') {
        // Decided per slot once the values are known.
        if (active.operations.has(operation)) corrupt.push(active)
        continue
      }
      if (fault.kind === 'fail' && fail !== undefined) continue
      if (fault.kind === 'drop' && drop) continue
      if (!this.hits(active, operation, keys)) continue
      record.faults.push(fault.kind)
      if (fault.kind === 'delay') {
        if (fault.phase === 'response') responseDelay += fault.ms
        else requestDelay += fault.ms
      } else if (fault.kind === 'fail') fail = fault
      else drop = true
    }

    const { backend } = this
    const invoke = (): unknown => {
      if (fail !== undefined && !fail.applied) throw failure(fail, operation)
      let result: unknown = drop ? DROPPED_ANSWER[operation]!(args) : call()
      if (corrupt.length > 0)
        result = then(result, (value) => this.corruptResult(operation, args, value, corrupt, record))
      if (fail?.applied) {
        const applied = fail
        if (result instanceof Promise) return result.then(() => Promise.reject(failure(applied, operation)))
        throw failure(applied, operation)
      }
      return result
    }

    const sync = backend.capabilities.sync
    if (requestDelay === 0 && responseDelay === 0) {
      if (sync) return invoke()
      // An asynchronous backend rejects; it never throws at the call.
      try {
        const result = invoke()
        return drop || fail !== undefined ? Promise.resolve(result) : result
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const delayed = (async () => {
      if (requestDelay > 0) await sleep(requestDelay)
      const result = await invoke()
      if (responseDelay > 0) await sleep(responseDelay)
      return result
    })()
    const bound = this.ownBound
    if (typeof bound !== 'number' || !(bound > 0) || requestDelay + responseDelay <= bound) return delayed
    // The backend promises to fail within `operationTimeoutMs`: keep that promise, as it would.
    delayed.catch(() => undefined)
    return new Promise((_, reject) => {
      setTimeout(
        () => reject(new Error(`${backend.name}: ${operation} timed out after ${bound} ms (injected delay)`)),
        bound,
      ).unref?.()
    })
  }

  private remember(keys: readonly string[]): void {
    for (const key of keys) {
      const at = this.recentWrites.indexOf(key)
      if (at >= 0) this.recentWrites.splice(at, 1)
      this.recentWrites.push(key)
    }
    if (this.recentWrites.length > RECENT_LIMIT)
      this.recentWrites.splice(0, this.recentWrites.length - RECENT_LIMIT)
  }

  private corruptResult(
    operation: BackendOperation,
    args: readonly unknown[],
    value: unknown,
    faults: readonly ActiveFault[],
    record: { faults: FaultKind[] },
  ): Maybe<unknown> {
    if (operation === 'getMany') {
      const keys = args[0] as readonly string[]
      const slots = (value as unknown[]).map((slot, i) =>
        this.corruptSlot(operation, keys[i]!, slot, faults, record),
      )
      return slots.some((s) => s instanceof Promise) ? Promise.all(slots) : slots
    }
    return this.corruptSlot(operation, keysOf(operation, args)[0]!, value, faults, record)
  }

  private corruptSlot(
    operation: BackendOperation,
    key: string,
    value: unknown,
    faults: readonly ActiveFault[],
    record: { faults: FaultKind[] },
  ): Maybe<unknown> {
    if (!(value instanceof Uint8Array)) return value
    for (const active of faults) {
      const fault = active.fault as CorruptFault
      const how = fault.how ?? 'flip'
      // Nothing to flip in an empty value, nothing shorter to cut it to.
      if (how !== 'swap' && value.length === 0) continue
      if (!this.hits(active, operation, [key])) continue
      record.faults.push('corrupt')
      if (how === 'swap') return this.swap(key, value, fault.swapWith)
      // Never alter the backend's own buffer: it may be its read cache.
      const copy = new Uint8Array(value)
      if (how === 'flip') {
        const at = fault.at === undefined ? Math.floor(this.random() * copy.length) : fault.at % copy.length
        copy[at]! ^= 1 + Math.floor(this.random() * 255)
        return copy
      }
      const length =
        fault.at === undefined ? Math.floor(this.random() * copy.length) : Math.min(fault.at, copy.length - 1)
      return copy.slice(0, length)
    }
    return value
  }

  /** Another key's value, different from `value`; `value` itself if there is none. */
  private swap(key: string, value: Uint8Array, swapWith: string | undefined): Maybe<unknown> {
    const candidates = swapWith !== undefined ? [swapWith] : this.recentWrites.filter((k) => k !== key)
    const start = Math.floor(this.random() * candidates.length)
    const ordered = [...candidates.slice(start), ...candidates.slice(0, start)]
    const differs = (other: unknown): other is Uint8Array =>
      other instanceof Uint8Array && !Buffer.from(other).equals(Buffer.from(value))
    const next = (i: number): Maybe<unknown> => {
      if (i >= ordered.length) return value
      return then(this.backend.get(ordered[i]!), (other) =>
        differs(other) ? new Uint8Array(other) : next(i + 1),
      )
    }
    return next(0)
  }
}

function failure(fault: FailFault, operation: BackendOperation): unknown {
  return fault.error ? fault.error(operation) : new InjectedFaultError(operation)
}

/** The keys an operation touches (prefixes for prefix operations, `''` for ping and close). */
function keysOf(operation: BackendOperation, args: readonly unknown[]): string[] {
  switch (operation) {
    case 'getIn':
    case 'setIn':
      return [`${args[0] as string}${args[1] as string}`]
    case 'getMany':
    case 'deleteMany':
      return [...(args[0] as readonly string[])]
    case 'setMany':
      return (args[0] as readonly { key: string }[]).map((e) => e.key)
    case 'setGuarded':
      return [(args[0] as { key: string }).key, (args[1] as { key: string }).key]
    case 'ping':
    case 'close':
      return ['']
    default:
      return [args[0] as string]
  }
}

function keyMatcher(keys: FaultTarget['keys']): (key: string) => boolean {
  if (keys === undefined) return () => true
  if (typeof keys === 'string') return (key) => key === keys
  if (typeof keys === 'function') return keys
  if (keys instanceof RegExp) return (key) => new RegExp(keys.source, keys.flags.replace('g', '')).test(key)
  if (Array.isArray(keys)) {
    const set = new Set<string>(keys)
    return (key) => set.has(key)
  }
  throw new InvalidOptionError('withFaults: keys must be a string, a list, a RegExp or a predicate')
}

/** `next(value)`, synchronously when `value` is not a promise. */
function then<T, U>(value: T | Promise<T> | unknown, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value as T)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A small seeded generator: the same seed gives the same faults on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
