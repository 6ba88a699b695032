import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type Accelerations,
  type AnyBackend,
  BACKEND_GROUPS,
  type BackendCapabilities,
  type BackendGroup,
  describeBackend,
  type FeatureStatus,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'

/** One row of the README's "Feature → required methods" table. */
interface ReadmeRow {
  feature: string
  nativeWith: string[]
  memoryLike: FeatureStatus | undefined
  redisLike: FeatureStatus | undefined
}

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')

function readmeTable(): ReadmeRow[] {
  const start = readme.indexOf('<!-- features:start')
  const end = readme.indexOf('<!-- features:end -->')
  expect(start, 'the README marks its feature table').toBeGreaterThan(0)
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim())
  const status = (cell: string) => (cell === '—' ? undefined : (cell as FeatureStatus))
  const names = (cell: string) =>
    cell === '—' ? [] : cell.split(',').map((name) => name.trim().replaceAll('`', ''))
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => {
      const [feature, nativeWith, memoryLike, redisLike] = cells(line)
      return {
        feature: feature!.replaceAll('`', ''),
        nativeWith: names(nativeWith!),
        memoryLike: status(memoryLike!),
        redisLike: status(redisLike!),
      }
    })
}

const MEMORY_LIKE = { sync: true, shared: false, persistent: false, inProcessValues: false }
const REDIS_LIKE = { sync: false, shared: true, persistent: true, inProcessValues: false }

/** A backend of the given kind with the given methods (answers are never used: describeBackend only reads). */
function backend(
  capabilities: BackendCapabilities,
  methods: readonly string[],
  accelerations?: Accelerations<boolean, unknown>,
): AnyBackend {
  const answer = (value: unknown) => (capabilities.sync ? value : Promise.resolve(value))
  const made: Record<string, unknown> = { specificationVersion: 2, name: 'table', capabilities }
  for (const method of ['get', 'set', 'delete', ...methods]) made[method] = () => answer(undefined)
  if (accelerations) made.accelerations = () => accelerations
  return made as unknown as AnyBackend
}

const ALL_METHODS = Object.values(BACKEND_GROUPS).flat()
const ALL_ACCELERATIONS = { setGuarded: () => Promise.resolve(), reclaimPrefix: () => Promise.resolve() }
const statusOf = (b: AnyBackend, feature: string) =>
  describeBackend(b).find((r) => r.feature === feature)?.status

describe('the README feature table matches describeBackend', () => {
  const rows = readmeTable()

  it('lists every feature describeBackend reports, in its order, with the methods that make it native', () => {
    const full = describeBackend(backend(REDIS_LIKE, ALL_METHODS, ALL_ACCELERATIONS))
    expect(rows.map((r) => r.feature)).toEqual(full.map((r) => r.feature))
    expect(full.every((r) => r.status === 'native')).toBe(true)
    expect(rows.map((r) => r.nativeWith)).toEqual(full.map((r) => r.needs))
    for (const kind of [MEMORY_LIKE, REDIS_LIKE]) {
      for (const r of describeBackend(backend(kind, [])))
        expect(rows.map((row) => row.feature)).toContain(r.feature)
    }
  })

  it('says what a backend with only get/set/delete gets, memory-like and Redis-like', () => {
    for (const row of rows) {
      expect(statusOf(backend(MEMORY_LIKE, []), row.feature), row.feature).toBe(row.memoryLike)
      expect(statusOf(backend(REDIS_LIKE, []), row.feature), row.feature).toBe(row.redisLike)
    }
  })

  it('each group, present alone, turns native exactly the rows whose methods it holds', () => {
    for (const group of Object.keys(BACKEND_GROUPS) as BackendGroup[]) {
      const methods: readonly string[] = BACKEND_GROUPS[group]
      for (const kind of [MEMORY_LIKE, REDIS_LIKE]) {
        const withGroup = backend(kind, methods)
        for (const row of rows) {
          const status = statusOf(withGroup, row.feature)
          if (status === undefined) continue
          const unlocked = row.nativeWith.length > 0 && row.nativeWith.every((m) => methods.includes(m))
          if (unlocked) expect(status, `${row.feature} with ${group}`).toBe('native')
          else if (row.nativeWith.length > 0)
            expect(status, `${row.feature} with ${group}`).not.toBe('native')
        }
      }
    }
  })
})
