export { contractTests } from './contract-tests.js'
export { correctnessTests } from './correctness-tests.js'
export { engineTests, type Placement } from './engine-tests.js'
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
