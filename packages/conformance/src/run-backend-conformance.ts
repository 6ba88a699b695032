import type { AnyBackend } from '@rapide/core'
import { describe, it } from 'vitest'
import { capabilityTests } from './capability-summary.js'
import { closedTests } from './closed-tests.js'
import { contractTests } from './contract-tests.js'
import { correctnessTests } from './correctness-tests.js'
import { engineTests } from './engine-tests.js'
import { faultTests } from './fault-tests.js'
import type { withFaults } from './faults.js'
import { Harness, uniqueName } from './harness.js'
import type { ConformanceOptions } from './options.js'

/**
 * Registers the whole conformance suite for a backend in the current vitest file.
 *
 * First the capability summary (what the backend unlocks and refuses, from `describeBackend`), then the
 * contract and the "closed" trait; the engine tests run twice, the second time under another key prefix,
 * to catch a backend that leaks keys across namespaces; then the correctness checks, and the fault checks
 * through {@link withFaults} (a corrupted, slow or failing store must never make rapide serve a wrong
 * value). Tests for capabilities the backend does not declare are reported as skipped.
 *
 * @example
 * // my-backend.test.ts
 * import { runBackendConformance } from '@rapide/conformance'
 * import { MyBackend } from '../src/index.js'
 *
 * runBackendConformance({ name: 'my-backend', create: () => new MyBackend({ url: process.env.MY_URL }) })
 */
export function runBackendConformance<B extends AnyBackend>(options: ConformanceOptions<B>): void {
  describe(`rapide conformance: ${options.name}`, () => {
    const harness = new Harness(options)
    // One instance is built at registration to read the manifest that decides which tests apply.
    const probe = harness.backend()
    if (!capabilityTests(options.name, probe)) {
      // Every other check would fail with the same refusal: one failure says what to change.
      it.skip('every other check (skipped: createCache refuses this backend; fix the failing check above first)', () => {})
      return
    }
    contractTests(harness, probe)
    closedTests(harness, probe)
    engineTests(harness, probe, { label: 'first domain', keyPrefix: '' })
    engineTests(harness, probe, { label: 'second domain, prefixed', keyPrefix: `${uniqueName('prefix')}:` })
    correctnessTests(harness, probe)
    faultTests(harness, probe)
  })
}
