export { type Applicability, accelerationsOf, applicability, type OptionalMethod } from './applicability.js'
export { capabilitySummary, capabilityTests } from './capability-summary.js'
export { closedTests } from './closed-tests.js'
export { contractTests } from './contract-tests.js'
export { correctnessTests } from './correctness-tests.js'
export { callTests } from './engine/call-tests.js'
export { FIRST_PLACEMENT, type Placement } from './engine/engine-context.js'
export { expiryTests } from './engine/expiry-tests.js'
export { invalidationTests } from './engine/invalidation-tests.js'
export { keyValueTests } from './engine/key-value-tests.js'
export { lifecycleTests } from './engine/lifecycle-tests.js'
export { lockTests } from './engine/lock-tests.js'
export { sharingTests } from './engine/sharing-tests.js'
export { signingTests } from './engine/signing-tests.js'
export { strategyTests } from './engine/strategy-tests.js'
export { valueTests } from './engine/value-tests.js'
export { engineTests } from './engine-tests.js'
export { faultTests } from './fault-tests.js'
export {
  type BackendOperation,
  type CorruptFault,
  type DelayFault,
  type DropFault,
  type FailFault,
  type Fault,
  type FaultController,
  type FaultHandle,
  type FaultKind,
  type FaultTarget,
  type FaultyBackend,
  InjectedFaultError,
  type OperationRecord,
  READ_OPERATIONS,
  STORE_OPERATIONS,
  type WithFaultsOptions,
  WRITE_OPERATIONS,
  withFaults,
} from './faults.js'
export { asAnotherProcess, deferred, Harness, sleep, uniqueName } from './harness.js'
export type { ConformanceOptions } from './options.js'
export { runBackendConformance } from './run-backend-conformance.js'
