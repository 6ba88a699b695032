import { randomBytes } from 'node:crypto'
import { createCache, InvalidOptionError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { InjectedFaultError, withFaults } from '../src/index.js'
import { LocalMapBackend } from './fixtures/local-map-backend.js'
import { FullSharedMapBackend, SharedMapBackend } from './fixtures/shared-map-backend.js'

const store = () => new FullSharedMapBackend(randomBytes(4).toString('hex'))
const text = (value: unknown) => Buffer.from(value as Uint8Array).toString()

/** A synchronous byte-storing backend (like SQLite): the sync paths of the wrapper. */
class SyncBytesBackend {
  readonly specificationVersion = 1 as const
  readonly name = 'sync-bytes'
  readonly capabilities = { sync: true, persistent: false, shared: false, inProcessValues: false } as const
  readonly data = new Map<string, Uint8Array>()
  get(key: string): Uint8Array | undefined {
    return this.data.get(key)
  }
  set(key: string, value: Uint8Array): void {
    this.data.set(key, value)
  }
  delete(key: string): boolean {
    return this.data.delete(key)
  }
  getMany(keys: readonly string[]): (Uint8Array | undefined)[] {
    return keys.map((key) => this.data.get(key))
  }
}

describe('withFaults', () => {
  it('declares what the backend declares and forwards everything else', () => {
    const inner = store()
    const faulty = withFaults(inner)
    expect(faulty.name).toBe(inner.name)
    expect(faulty.capabilities).toBe(inner.capabilities)
    expect(faulty.specificationVersion).toBe(2)
    for (const method of ['getMany', 'setMany', 'setNx', 'incr', 'ping', 'accelerations'] as const) {
      expect(typeof faulty[method]).toBe('function')
    }
    expect(typeof faulty.accelerations().setGuarded).toBe('function')
    // Optional methods the backend lacks stay absent: the core and the kit see the same backend.
    const minimal = withFaults(new SharedMapBackend('minimal'))
    expect((minimal as { getMany?: unknown }).getMany).toBeUndefined()
    expect('faults' in faulty).toBe(true)
  })

  it('keeps a synchronous backend synchronous, including when it fails or drops', () => {
    const faulty = withFaults(new SyncBytesBackend())
    expect(faulty.set('k', Buffer.from('v'))).toBeUndefined()
    expect(text(faulty.get('k'))).toBe('v')
    faulty.faults.inject({ kind: 'drop' })
    expect(faulty.set('k', Buffer.from('lost'))).toBeUndefined()
    expect(text(faulty.get('k'))).toBe('v')
    faulty.faults.inject({ kind: 'corrupt', how: 'truncate', at: 0 })
    expect(faulty.get('k')).toEqual(new Uint8Array(0))
    faulty.faults.inject({ kind: 'fail', operations: ['delete'] })
    expect(() => faulty.delete('k')).toThrow(InjectedFaultError)
  })

  it('refuses a delay on a synchronous backend and corruption of in-process values, with typed errors', () => {
    expect(() => withFaults(new SyncBytesBackend()).faults.inject({ kind: 'delay', ms: 10 })).toThrow(
      /synchronous/,
    )
    expect(() => withFaults(new LocalMapBackend()).faults.inject({ kind: 'corrupt' })).toThrow(
      InvalidOptionError,
    )
    const faulty = withFaults(store())
    expect(() => faulty.faults.inject({ kind: 'drop', operations: ['incr'] })).toThrow(InvalidOptionError)
    expect(() => faulty.faults.inject({ kind: 'corrupt', operations: ['set'] })).toThrow(InvalidOptionError)
    expect(() => faulty.faults.inject({ kind: 'fail', probabilty: 1 } as never)).toThrow(/probability/)
    expect(() => withFaults(store(), { sed: 1 } as never)).toThrow(InvalidOptionError)
  })

  it('flips exactly one byte, truncates, or swaps in another key’s value, without touching the store', async () => {
    const faulty = withFaults(store())
    await faulty.set('a', Buffer.from('abcdef'), undefined)
    await faulty.set('b', Buffer.from('other'), undefined)
    const flip = faulty.faults.inject({ kind: 'corrupt', how: 'flip', at: 2, keys: 'a' })
    const flipped = Buffer.from((await faulty.get('a')) as Uint8Array)
    expect(flipped).toHaveLength(6)
    expect([...flipped].filter((byte, i) => byte !== Buffer.from('abcdef')[i])).toHaveLength(1)
    expect(flipped[2]).not.toBe('c'.charCodeAt(0))
    expect(text(await faulty.get('b'))).toBe('other')
    flip.remove()
    expect(text(await faulty.get('a'))).toBe('abcdef')
    const cut = faulty.faults.inject({ kind: 'corrupt', how: 'truncate', at: 3, keys: /^a$/ })
    expect(text(await faulty.get('a'))).toBe('abc')
    cut.remove()
    faulty.faults.inject({ kind: 'corrupt', how: 'swap', keys: (key) => key === 'a' })
    expect(text(await faulty.get('a'))).toBe('other')
    // getMany: only the matching slots.
    expect((await faulty.getMany(['a', 'b'])).map(text)).toEqual(['other', 'other'])
    expect(faulty.faults.injected.corrupt).toBe(4)
  })

  it('delays requests (applied late) and responses (answered late), failing past operationTimeoutMs', async () => {
    const faulty = withFaults(store())
    faulty.faults.inject({ kind: 'delay', ms: 60, operations: ['set'] })
    const started = performance.now()
    const write = faulty.set('k', Buffer.from('v'), undefined)
    expect(await faulty.get('k')).toBeUndefined()
    await write
    expect(performance.now() - started).toBeGreaterThanOrEqual(55)
    expect(text(await faulty.get('k'))).toBe('v')

    const bounded = Object.assign(store(), { accelerations: () => ({ operationTimeoutMs: 30 }) })
    const slow = withFaults(bounded, { faults: [{ kind: 'delay', ms: 100, operations: ['set'] }] })
    // The bound is read from the accelerations, which the core asks for when it creates a cache.
    slow.accelerations()
    await expect(slow.set('late', Buffer.from('v'), undefined)).rejects.toThrow(/timed out after 30 ms/)
    // Like a request already sent, it is still applied.
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(text(await bounded.get('late'))).toBe('v')
  })

  it('drops writes with a successful answer, and fails operations before or after applying them', async () => {
    const inner = store()
    const faulty = withFaults(inner)
    const drop = faulty.faults.inject({ kind: 'drop', operations: ['set', 'setNx'] })
    await faulty.set('k', Buffer.from('v'), undefined)
    expect(await faulty.setNx('n', Buffer.from('v'), undefined)).toBe(true)
    expect(await inner.get('k')).toBeUndefined()
    expect(await inner.get('n')).toBeUndefined()
    expect(drop.injected).toBe(2)
    drop.remove()
    const fail = faulty.faults.inject({ kind: 'fail', operations: ['set'], times: 1 })
    const rejected = faulty.set('k', Buffer.from('v'), undefined)
    expect(rejected).toBeInstanceOf(Promise)
    await expect(rejected).rejects.toThrow(InjectedFaultError)
    expect(await inner.get('k')).toBeUndefined()
    // `times: 1`: the next one goes through.
    await faulty.set('k', Buffer.from('v'), undefined)
    expect(fail.injected).toBe(1)
    faulty.faults.inject({ kind: 'fail', operations: ['set'], applied: true, error: () => new Error('lost') })
    await expect(faulty.set('k', Buffer.from('w'), undefined)).rejects.toThrow('lost')
    expect(text(await inner.get('k'))).toBe('w')
  })

  it('is deterministic: the same seed gives the same faults', async () => {
    const run = async (seed: number) => {
      const faulty = withFaults(store(), { seed })
      await faulty.set('k', Buffer.from('0123456789'), undefined)
      faulty.faults.inject({ kind: 'corrupt', probability: 0.5 })
      const out: string[] = []
      for (let i = 0; i < 20; i++)
        out.push(Buffer.from((await faulty.get('k')) as Uint8Array).toString('hex'))
      return out
    }
    expect(await run(1)).toEqual(await run(1))
    expect(await run(1)).not.toEqual(await run(2))
  })

  it('reaches the accelerations: scoped views, setGuarded and reclaimPrefix go through the faults', async () => {
    const local = withFaults(new LocalMapBackend())
    const view = local.accelerations().scope!('ns:')
    view.set('k', 'v', undefined)
    expect(local.get('ns:k')).toBe('v')
    local.faults.inject({ kind: 'fail', operations: ['getIn'] })
    expect(() => view.get('k')).toThrow(InjectedFaultError)
    local.faults.clear()
    local.faults.inject({ kind: 'drop', operations: ['setIn'], keys: 'ns:lost' })
    view.set('lost', 'v', undefined)
    expect(local.get('ns:lost')).toBeUndefined()
    expect(local.faults.history.map((r) => r.operation)).toEqual(['setIn', 'get', 'getIn', 'setIn', 'get'])

    const shared = withFaults(store())
    const guarded = shared.accelerations().setGuarded!
    const entry = (key: string) => ({ key, value: Buffer.from(key), ttlMs: undefined })
    shared.faults.inject({ kind: 'fail', operations: ['setGuarded'], times: 1 })
    await expect(guarded(entry('g'), entry('e'))).rejects.toThrow(InjectedFaultError)
    await guarded(entry('g'), entry('e'))
    expect(text(await shared.get('e'))).toBe('e')
    expect(shared.faults.history.at(-2)).toMatchObject({ operation: 'setGuarded', keys: ['g', 'e'] })

    // A cache over the wrapper reads its hits through the wrapped view: a failing view is reported.
    const cache = createCache({ domainKey: 'FAULTS', backend: local })
    const errors: unknown[] = []
    cache.on('error', ({ error }) => errors.push(error))
    const f = cache.wrap('F', (n: number) => n * 2)
    expect(f(1)).toBe(2)
    local.faults.inject({ kind: 'fail', operations: ['getIn'] })
    expect(f(1)).toBe(2)
    expect(errors.length).toBeGreaterThan(0)
  })

  it('wraps a contract version 1 backend’s flat speed-only members', async () => {
    class FlatV1 extends SyncBytesBackend {
      readonly operationTimeoutMs = 30
      getIn(namespace: string, key: string): Uint8Array | undefined {
        return this.get(namespace + key)
      }
      setIn(namespace: string, key: string, value: Uint8Array): void {
        this.set(namespace + key, value)
      }
      reclaimPrefix(_prefix: string): void {}
    }
    const faulty = withFaults(new FlatV1())
    expect(faulty.specificationVersion).toBe(1)
    expect(faulty.operationTimeoutMs).toBe(30)
    faulty.setIn('ns:', 'k', Buffer.from('v'))
    faulty.faults.inject({ kind: 'corrupt', how: 'truncate', at: 0, operations: ['getIn'] })
    expect(faulty.getIn('ns:', 'k')).toEqual(new Uint8Array(0))
    faulty.faults.inject({ kind: 'fail', operations: ['reclaimPrefix'] })
    expect(() => faulty.reclaimPrefix('ns:')).toThrow(InjectedFaultError)
    expect(faulty.faults.history.map((r) => r.operation)).toEqual(['setIn', 'getIn', 'reclaimPrefix'])
    // The core still accepts it, through its bridge.
    const cache = createCache({ domainKey: 'V1', backend: faulty })
    expect(cache.wrap('F', (n: number) => n + 1)(1)).toBe(2)
  })

  it('records every operation with the faults that hit it', async () => {
    const faulty = withFaults(store())
    await faulty.set('k', Buffer.from('v'), undefined)
    faulty.faults.inject({ kind: 'drop', keys: 'x' })
    await faulty.set('x', Buffer.from('v'), undefined)
    expect(faulty.faults.history.map(({ operation, keys, faults }) => ({ operation, keys, faults }))).toEqual(
      [
        { operation: 'set', keys: ['k'], faults: [] },
        { operation: 'set', keys: ['x'], faults: ['drop'] },
      ],
    )
  })
})
