import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const packageRoot = join(here, '..')

interface JsonReport {
  testResults: {
    assertionResults: {
      fullName: string
      status: 'passed' | 'failed' | 'skipped' | 'pending'
      failureMessages: string[]
    }[]
  }[]
}

/**
 * The kit must catch broken backends. Each one is run through the whole suite in a child vitest, and
 * the checks that exist to catch its defect must fail.
 */
describe('the conformance kit rejects broken backends', () => {
  let failed: string[] = []
  let passed: string[] = []
  let messages = new Map<string, string>()

  beforeAll(async () => {
    const vitest = join(packageRoot, 'node_modules', 'vitest', 'vitest.mjs')
    const args = [vitest, 'run', '--config', join(here, 'broken', 'vitest.config.ts'), '--reporter=json']
    let stdout: string
    try {
      ;({ stdout } = await promisify(execFile)(process.execPath, args, {
        cwd: join(here, 'broken'),
        maxBuffer: 64 << 20,
        env: { ...process.env, CI: '' },
      }))
      throw new Error('the broken backends passed the whole suite')
    } catch (error) {
      const out = (error as { stdout?: string }).stdout
      if (!out) throw error
      stdout = out
    }
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as JsonReport
    const results = report.testResults.flatMap((file) => file.assertionResults)
    failed = results.filter((r) => r.status === 'failed').map((r) => r.fullName)
    passed = results.filter((r) => r.status === 'passed').map((r) => r.fullName)
    messages = new Map(results.map((r) => [r.fullName, r.failureMessages.join('\n')]))
  }, 240_000)

  const failures = (backend: string) => failed.filter((name) => name.includes(`conformance: ${backend} `))

  it('a backend that ignores TTLs fails the expiry checks', () => {
    const names = failures('ignores-ttl')
    expect(names).toContainEqual(expect.stringContaining('never returns an expired value'))
    expect(names).toContainEqual(expect.stringContaining('results expire after their ttl'))
    expect(names).toContainEqual(expect.stringContaining('key-value: expiry and expire()'))
  })

  it('a backend that ignores prefixes fails the isolation checks, in both domains', () => {
    const names = failures('leaks-across-prefixes')
    expect(names).toContainEqual(expect.stringContaining('keys lists live keys under a prefix'))
    expect(names).toContainEqual(
      expect.stringContaining('deletePrefix removes exactly the keys under the prefix'),
    )
    const isolation = names.filter((n) => n.includes('domains are isolated'))
    expect(isolation).toHaveLength(2)
  })

  it('a backend that claims to be shared and persistent but is neither fails those checks, and only those', () => {
    const names = failures('fake-shared')
    expect(names).toContainEqual(expect.stringContaining('two instances see each other'))
    expect(names).toContainEqual(expect.stringContaining('every invalidation level through one instance'))
    expect(names).toContainEqual(expect.stringContaining('persistent: data survives closing the instance'))
    // The failures point at the defect: each is a check of what several instances must see.
    for (const name of names) expect(name).toMatch(/(shared|persistent): /)
  })

  it('a backend whose setGuarded replaces a live guard fails that check, the cross-instance result races and the late-write fault check', () => {
    const names = failures('overwrites-guard')
    expect(names).toContainEqual(expect.stringContaining('setGuarded creates an absent guard'))
    expect(names).toContainEqual(
      expect.stringContaining(
        'race-free across instances: a computation running while another instance invalidates its result',
      ),
    )
    // A computation outliving its TTL, and a result write landing late (injected by withFaults), replace
    // the invalidation marker the same way.
    expect(names).toContainEqual(
      expect.stringContaining(
        'a computation outliving its ttl several times over while another instance invalidates its result never becomes visible (new argument)',
      ),
    )
    expect(names).toContainEqual(
      expect.stringContaining(
        'delay: a result write that lands after the timeout and after a result invalidation is never served',
      ),
    )
    // Every store is guarded by the result generation it was computed under, so the broken guard lets a
    // result computed across any result invalidation through; function and domain invalidations do not
    // depend on it: those checks stay green.
    for (const name of names)
      expect(name).toMatch(
        /setGuarded|invalidates its result|across an invalidation|after a result invalidation/,
      )
  })

  it('a backend that still answers after close() fails the closed trait, and only it', () => {
    const names = failures('answers-after-close')
    expect(names).toContainEqual(expect.stringContaining('closed: get fails after close()'))
    expect(names).toContainEqual(expect.stringContaining('closed: getMany fails after close()'))
    expect(names).toContainEqual(
      expect.stringContaining('closed: accelerations().scope(namespace).get fails after close()'),
    )
    for (const name of names) expect(name).toMatch(/closed: /)
  })

  it('a backend whose get hangs after close() fails the closed trait for get, within its bound', () => {
    const names = failures('hangs-after-close')
    expect(names).toEqual([expect.stringContaining('closed: get fails after close()')])
    expect(messages.get(names[0]!)).toMatch(/hung/)
  })

  it('a backend with half of an optional group is refused by createCache, and the kit says what to add', () => {
    const names = failures('half-listing')
    const refusal = names.find((name) => name.includes('capabilities createCache accepts the backend'))
    expect(refusal).toBeDefined()
    expect(messages.get(refusal!)).toMatch(/implement all of keys, deletePrefix, or none/)
    // One failure, not one per check: the rest is not run against a backend the core refuses.
    expect(names).toEqual([refusal])
  })

  it('checks unrelated to a defect stay green', () => {
    expect(passed).toContainEqual(
      expect.stringContaining('conformance: ignores-ttl engine (first domain) calls and keys caches'),
    )
    expect(passed).toContainEqual(expect.stringContaining('conformance: fake-shared contract set then get'))
  })
})
