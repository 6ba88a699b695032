import type { AnyBackend } from '@rapide/core'
import { describe } from 'vitest'
import { callTests } from './engine/call-tests.js'
import type { Placement } from './engine/engine-context.js'
import { expiryTests } from './engine/expiry-tests.js'
import { invalidationTests } from './engine/invalidation-tests.js'
import { keyValueTests } from './engine/key-value-tests.js'
import { lifecycleTests } from './engine/lifecycle-tests.js'
import { lockTests } from './engine/lock-tests.js'
import { sharingTests } from './engine/sharing-tests.js'
import { signingTests } from './engine/signing-tests.js'
import { strategyTests } from './engine/strategy-tests.js'
import { valueTests } from './engine/value-tests.js'
import type { Harness } from './harness.js'

/**
 * The cache engine over the backend, every topic: calls and keys, values, invalidation, sharing,
 * expiry, the key-value API, locks, the strategies of `wrap` that work through the store, signed values,
 * lifecycle and the error policy. Each topic is also exported on its own (`invalidationTests`,
 * `strategyTests`...) for a backend author who wants to run one while working.
 */
export function engineTests<B extends AnyBackend>(harness: Harness<B>, probe: B, placement: Placement): void {
  describe(`engine (${placement.label})`, () => {
    callTests(harness, probe, placement)
    valueTests(harness, probe, placement)
    invalidationTests(harness, probe, placement)
    sharingTests(harness, probe, placement)
    expiryTests(harness, probe, placement)
    keyValueTests(harness, probe, placement)
    lockTests(harness, probe, placement)
    strategyTests(harness, probe, placement)
    signingTests(harness, probe, placement)
    lifecycleTests(harness, probe, placement)
  })
}
