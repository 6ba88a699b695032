import { type AnyBackend, BACKEND_GROUPS, describeBackend, type FeatureSupport } from '@rapide/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Applicability, applicability } from './applicability.js'

/**
 * The capability summary: what this backend unlocks, what it refuses and which optional methods would
 * unlock it, as `describeBackend` (the core's own policy) tells. Printed once when the suite starts, and
 * one test per feature: `native:` and `emulated:` rows pass when the kit's own reading of the backend
 * (which decides what it tests) agrees with the core's; `refused:` rows are reported as skipped, with
 * what to implement in their name.
 *
 * A backend the core does not accept (half an optional group, a version 1 member on a version 2 backend,
 * a lying `sync` flag) gets one failing test carrying the core's message; the result is then `false`, and
 * the rest of the suite is not registered (every test would fail with the same message).
 */
export function capabilityTests<B extends AnyBackend>(name: string, probe: B): boolean {
  let rows: FeatureSupport[]
  try {
    rows = describeBackend(probe)
  } catch (error) {
    describe('capabilities', () => {
      it('createCache accepts the backend', () => {
        throw error
      })
    })
    return false
  }
  const kit = applicability(probe)

  describe('capabilities', () => {
    beforeAll(() => {
      console.log(capabilitySummary(name, probe, rows))
    })
    for (const row of rows) {
      if (row.status === 'refused') {
        it.skip(`refused: ${row.feature}, ${row.why}; implement ${row.needs.join(', ')} to unlock it`, () => {})
        continue
      }
      const how = row.status === 'native' ? row.why : `${row.why}; native with ${row.needs.join(', ')}`
      it(`${row.status}: ${row.feature} (${how})`, () => {
        const expected = kitReading(kit, row.feature)
        if (expected !== undefined) expect(expected, 'the kit tests this feature as available').toBe(true)
        for (const method of row.needs) expect(KNOWN_METHODS).toContain(method)
      })
    }
  })
  return true
}

/** The methods a feature row may ask for: the groups', the optional ones, and the accelerations. */
const KNOWN_METHODS: readonly string[] = [
  ...Object.values(BACKEND_GROUPS).flat(),
  'ping',
  'close',
  'accelerations().scope',
  'accelerations().setGuarded',
  'accelerations().reclaimPrefix',
  'accelerations().operationTimeoutMs',
]

/** Whether the kit, which decides what it tests, counts this feature as available (unknown: undefined). */
function kitReading(kit: Applicability, feature: string): boolean | undefined {
  if (feature.startsWith('cache.batch()') || feature === 'cache.setMany') return kit.batchWrites
  if (/^cache\.(setNx|incr|expire|lock)/.test(feature)) return kit.atomics
  if (feature.startsWith('cache.deletePattern')) return kit.listing
  return undefined
}

/**
 * The summary as text: one line per feature, refused ones with the methods that would unlock them.
 *
 * @example
 * // rapide conformance: shared-map (asynchronous, shared, persistent): 9 native, 3 emulated, 6 refused
 * //   refused   cache.setMany: a loop is not atomic on a shared store (unlock with setMany)
 */
export function capabilitySummary(
  name: string,
  backend: AnyBackend,
  rows: readonly FeatureSupport[],
): string {
  const { sync, shared, persistent, inProcessValues } = backend.capabilities
  const traits = [
    sync ? 'synchronous' : 'asynchronous',
    shared ? 'shared' : 'not shared',
    persistent ? 'persistent' : 'not persistent',
    ...(inProcessValues ? ['in-process values'] : []),
  ].join(', ')
  const count = (status: FeatureSupport['status']) => rows.filter((r) => r.status === status).length
  const lines = [
    `rapide conformance: ${name} (contract v${backend.specificationVersion}; ${traits}): ${count('native')} native, ${count('emulated')} emulated, ${count('refused')} refused`,
  ]
  for (const row of rows) {
    const unlock =
      row.status === 'native' || row.needs.length === 0
        ? ''
        : ` (${row.status === 'refused' ? 'unlock' : 'native'} with ${row.needs.join(', ')})`
    lines.push(`  ${row.status.padEnd(9)} ${row.feature}: ${row.why}${unlock}`)
  }
  return lines.join('\n')
}
