import { describe, expect, it } from 'vitest'
import { type CacheEvents, createCache } from '../src/index.js'
import { FullMapBackend } from './support/backends.js'

// The `lock` option on a synchronous shared store (SQLite, disk): a call that returns a promise waits for
// the lock as on Redis; a synchronous call takes it only if it is free, and otherwise answers the kept
// result (or computes too when there is none): it never blocks the thread.

type Data = FullMapBackend['data']
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function twoProcesses(data: Data = new Map()) {
  return [0, 1].map(() => createCache({ domainKey: 'L', backend: new FullMapBackend(true, data) }))
}

/** The lock key of `F(1)`, as another process holding it would have written it. */
function lockKeyOf(data: Data): string {
  const key = [...data.keys()].find((k) => k.startsWith('|L:r:{F:'))!
  return key.replace('|L:r:', '|L:c:')
}

describe('wrap({ lock }) on a synchronous shared store', () => {
  it('a synchronous call takes a free lock, computes, stores and releases it', () => {
    const data: Data = new Map()
    const [a] = twoProcesses(data)
    let computations = 0
    const f = a!.wrap('F', (n: number) => ++computations + n, { ttl: '1h', lock: true })
    expect(f(1)).toBe(2)
    expect(f(1)).toBe(2)
    expect(computations).toBe(1)
    expect([...data.keys()].some((key) => key.includes(':c:'))).toBe(false)
  })

  it('held by another process: the result kept for failSafe answers at once (a stale event, reason lock)', async () => {
    const data: Data = new Map()
    const [a] = twoProcesses(data)
    const stale: CacheEvents['stale'][] = []
    a!.on('stale', (event) => stale.push(event))
    let version = 1
    const f = a!.wrap('F', (n: number) => `v${version}-${n}`, { ttl: 0.05, failSafe: '1h', lock: true })
    expect(f(1)).toBe('v1-1')
    await sleep(80) // past the ttl: kept for failSafe
    version = 2
    data.set(lockKeyOf(data), { value: Buffer.from('another process'), expiresAt: Date.now() + 10_000 })
    expect(f(1)).toBe('v1-1')
    expect(stale.map((event) => event.reason)).toEqual(['lock'])
    data.delete(lockKeyOf(data))
    expect(f(1)).toBe('v2-1') // the lock is free again: computed
  })

  it('held by another process, nothing kept: the call computes too rather than block', () => {
    const data: Data = new Map()
    const [a] = twoProcesses(data)
    const f = a!.wrap('F', (n: number) => n * 10, { ttl: '1h', lock: true })
    f(2) // makes the key layout visible
    data.set(lockKeyOf(data).replace(':n2}', ':n1}'), {
      value: Buffer.from('another process'),
      expiresAt: Date.now() + 10_000,
    })
    expect(f(1)).toBe(10)
  })

  it('an async function waits for the holder in another process: one computation overall', async () => {
    const [a, b] = twoProcesses()
    let computations = 0
    const slow = async (n: number) => {
      computations++
      await sleep(60)
      return n + 1
    }
    const fa = a!.wrap('F', slow, { ttl: '1h', lock: true })
    const fb = b!.wrap('F', slow, { ttl: '1h', lock: true })
    expect(await Promise.all([fa(1), fb(1), fa(1), fb(1)])).toEqual([2, 2, 2, 2])
    expect(computations).toBe(1)
  })
})
