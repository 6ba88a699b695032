import { IncompatibleBackendError, InvalidOptionError } from '../errors.js'
import { isPromiseLike } from '../maybe-promise.js'
import { type Accelerations, type AnyBackend, BACKEND_GROUPS, SPECIFICATION_VERSION } from './contract.js'
import { accelerationsOfV1, type BackendV1, type NormalBackend } from './contract-v1.js'
import { lyingSyncFlag } from './store.js'

/** A backend as the adapter reads it, whatever contract version it was written for. */
export interface CheckedBackend {
  readonly backend: NormalBackend
  readonly accelerations: Accelerations<boolean, unknown>
  /** The contract version it was written for. */
  readonly version: 1 | 2
}

/**
 * Checks what `createCache` was given against the contract, once, so that nothing is found missing in
 * the middle of a call: each problem is an `IncompatibleBackendError` that says what to change.
 */
export function checkBackend(given: AnyBackend): CheckedBackend {
  if (typeof given !== 'object' || given === null) {
    throw new InvalidOptionError('createCache: `backend` must be a backend class or instance')
  }
  const name = String((given as { name?: unknown }).name)
  const version = (given as { specificationVersion?: unknown }).specificationVersion
  if (version !== SPECIFICATION_VERSION && version !== 1) {
    throw new IncompatibleBackendError(
      `Backend "${name}" declares contract version ${String(version)}; this @rapide/core implements ${SPECIFICATION_VERSION} (and still reads 1). ${
        version === undefined
          ? 'Add `readonly specificationVersion = 2` and implement SyncBackend or AsyncBackend.'
          : 'Upgrade @rapide/core, or use a version of the backend written for this one.'
      }`,
    )
  }
  const backend = given as NormalBackend
  for (const method of ['get', 'set', 'delete'] as const) {
    if (typeof backend[method] !== 'function') {
      throw new IncompatibleBackendError(`Backend "${name}" has no ${method}() method (required)`)
    }
  }
  const caps = backend.capabilities
  if (
    !caps ||
    typeof caps.sync !== 'boolean' ||
    typeof caps.shared !== 'boolean' ||
    typeof caps.persistent !== 'boolean' ||
    typeof caps.inProcessValues !== 'boolean'
  ) {
    throw new IncompatibleBackendError(
      `Backend "${name}" must declare capabilities { sync, persistent, shared, inProcessValues }, each a boolean`,
    )
  }
  if (caps.inProcessValues && (caps.shared || caps.persistent || !caps.sync)) {
    throw new IncompatibleBackendError(
      `Backend "${name}" declares inProcessValues, which needs a synchronous, unshared, non-persistent store`,
    )
  }
  if (version === 1) {
    const v1 = given as BackendV1<unknown>
    if ((typeof v1.getIn === 'function') !== (typeof v1.setIn === 'function')) {
      throw new IncompatibleBackendError(
        `Backend "${name}" must implement both getIn() and setIn(), or neither`,
      )
    }
    return { backend, accelerations: accelerationsOfV1(v1), version: 1 }
  }
  checkGroups(backend, name)
  const accelerations = readAccelerations(backend, name)
  if (caps.sync) checkAnswersDirectly(backend, name)
  return { backend, accelerations, version: 2 }
}

/** An optional group is all or nothing: half a group is almost always a forgotten method. */
function checkGroups(backend: NormalBackend, name: string): void {
  for (const [group, methods] of Object.entries(BACKEND_GROUPS)) {
    const present = methods.filter((m) => typeof backend[m] === 'function')
    if (present.length > 0 && present.length < methods.length) {
      const missing = methods.filter((m) => !present.includes(m))
      throw new IncompatibleBackendError(
        `Backend "${name}" implements part of the "${group}" group (${present.join(', ')}) but not ${missing.join(', ')}: implement all of ${methods.join(', ')}, or none`,
      )
    }
  }
  for (const member of ['getIn', 'setIn', 'setGuarded', 'reclaimPrefix'] as const) {
    if (typeof (backend as unknown as Record<string, unknown>)[member] === 'function') {
      throw new IncompatibleBackendError(
        `Backend "${name}" has ${member}(), a contract version 1 member: in version 2 it belongs in accelerations() (${member === 'getIn' || member === 'setIn' ? 'as scope(namespace)' : member})`,
      )
    }
  }
}

function readAccelerations(backend: NormalBackend, name: string): Accelerations<boolean, unknown> {
  if (backend.accelerations === undefined) return {}
  if (typeof backend.accelerations !== 'function') {
    throw new IncompatibleBackendError(
      `Backend "${name}": accelerations must be a method returning an object`,
    )
  }
  const accelerations = backend.accelerations()
  if (typeof accelerations !== 'object' || accelerations === null) {
    throw new IncompatibleBackendError(`Backend "${name}": accelerations() must return an object`)
  }
  return accelerations
}

/**
 * A synchronous backend that answers with a promise would type-check in plain JavaScript and then make
 * every hit a silent recomputation: one read at creation catches the common case (every operation is
 * also checked when it runs).
 */
function checkAnswersDirectly(backend: NormalBackend, name: string): void {
  let answer: unknown
  try {
    answer = backend.get('rapide:sync-probe')
  } catch {
    return // A failing store is the operations' business, reported when they run.
  }
  if (isPromiseLike(answer)) {
    Promise.resolve(answer).catch(() => undefined)
    throw lyingSyncFlag(name, 'get')
  }
}
