import { type AnyBackend, type AsyncBackend, createCache, describeBackend } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { accelerationsOf, applicability } from './applicability.js'
import { type Harness, sameStored, sample, sleep, uniqueName } from './harness.js'

/**
 * The storage contract itself: what every method must do, as declared by the backend's manifest and
 * optional methods. A test for a method the backend does not have is a visible skip.
 */
export function contractTests<B extends AnyBackend>(harness: Harness<B>, probe: B): void {
  const caps = probe.capabilities
  const kit = applicability(probe)
  const { scope, setGuarded, reclaimPrefix } = kit.accelerations
  const key = () => uniqueName('conformance:key')

  describe('contract', () => {
    it('declares a specification version, a name and a capability manifest', () => {
      expect([1, 2]).toContain(probe.specificationVersion)
      expect(typeof probe.name).toBe('string')
      for (const flag of ['sync', 'persistent', 'shared', 'inProcessValues'] as const) {
        expect(typeof caps[flag]).toBe('boolean')
      }
      if (caps.inProcessValues) expect(caps.shared || caps.persistent || !caps.sync).toBe(false)
    })

    it('createCache accepts it: every optional group whole, speed-only members in accelerations()', () => {
      // What createCache refuses with IncompatibleBackendError (half a group, a version 1 member on a
      // version 2 backend, a synchronous backend answering with a promise), with the message saying what to change.
      expect(() => describeBackend(probe)).not.toThrow()
      expect(() => createCache({ domainKey: uniqueName('DOMAIN'), backend: harness.backend() })).not.toThrow()
    })

    it('get of a missing key is undefined', async () => {
      expect(await harness.backend().get(key())).toBeUndefined()
    })

    it('set then get returns the value (byte for byte, or the same reference in process)', async () => {
      const backend = harness.backend()
      const k = key()
      const value = sample(backend, 'héllo \u0000 wörld')
      await backend.set(k, value, undefined)
      expect(sameStored(backend, await backend.get(k), value)).toBe(true)
    })

    it('stores an empty value and a 1 MiB value', async () => {
      const backend = harness.backend()
      for (const text of ['', 'x'.repeat(1 << 20)]) {
        const k = key()
        const value = sample(backend, text)
        await backend.set(k, value, undefined)
        expect(sameStored(backend, await backend.get(k), value)).toBe(true)
      }
    })

    it('keys may hold any characters', async () => {
      const backend = harness.backend()
      for (const suffix of ['*?[]\\', 'new\nline', 'üñï©ødé 🐎', ' ', '../../etc/passwd', 'a'.repeat(400)]) {
        const k = `${key()}${suffix}`
        const value = sample(backend, suffix)
        await backend.set(k, value, undefined)
        expect(sameStored(backend, await backend.get(k), value)).toBe(true)
      }
    })

    it('set replaces the value', async () => {
      const backend = harness.backend()
      const k = key()
      await backend.set(k, sample(backend, 'one'), undefined)
      const second = sample(backend, 'two')
      await backend.set(k, second, undefined)
      expect(sameStored(backend, await backend.get(k), second)).toBe(true)
    })

    it('delete removes and reports whether the key existed', async () => {
      const backend = harness.backend()
      const k = key()
      await backend.set(k, sample(backend, 'v'), undefined)
      expect(await backend.delete(k)).toBe(true)
      expect(await backend.get(k)).toBeUndefined()
      expect(await backend.delete(k)).toBe(false)
    })

    it('never returns an expired value', async () => {
      const backend = harness.backend()
      const k = key()
      const unit = harness.ttlUnitMs
      await backend.set(k, sample(backend, 'v'), 20 * unit)
      expect(await backend.get(k)).toBeDefined()
      await sleep(40 * unit)
      expect(await backend.get(k)).toBeUndefined()
    })

    it('set without ttl clears a previous expiry', async () => {
      const backend = harness.backend()
      const k = key()
      const unit = harness.ttlUnitMs
      await backend.set(k, sample(backend, 'v'), 20 * unit)
      await backend.set(k, sample(backend, 'w'), undefined)
      await sleep(40 * unit)
      expect(await backend.get(k)).toBeDefined()
    })

    it.skipIf(!caps.sync)('a synchronous backend answers without promises', () => {
      const backend = harness.backend()
      const k = key()
      const sync = (method: string) =>
        `${method}() returned a promise on a sync: true backend: answer directly`
      expect(backend.set(k, sample(backend, 'v'), undefined), sync('set')).not.toBeInstanceOf(Promise)
      expect(backend.get(k), sync('get')).not.toBeInstanceOf(Promise)
      expect(backend.delete(k), sync('delete')).not.toBeInstanceOf(Promise)
    })

    it.skipIf(caps.sync)('an asynchronous backend answers with promises', () => {
      const backend = harness.backend()
      const result = backend.get(key())
      expect(result).toBeInstanceOf(Promise)
      return result
    })

    it.skipIf(!scope)(
      'accelerations().scope: a view agrees with get/set/delete of the joined key',
      async () => {
        const backend = harness.backend()
        const view = (namespace: string) => accelerationsOf(backend).scope!(namespace)
        const unit = harness.ttlUnitMs
        const namespace = `${key()}:r:`
        const inside = view(namespace)
        const a = sample(backend, 'a')
        await inside.set('n1', a, undefined)
        expect(sameStored(backend, await backend.get(`${namespace}n1`), a)).toBe(true)
        expect(sameStored(backend, await inside.get('n1'), a)).toBe(true)
        const b = sample(backend, 'b')
        await backend.set(`${namespace}n1`, b, undefined)
        expect(sameStored(backend, await inside.get('n1'), b)).toBe(true)
        await backend.set(`${namespace}n2`, a, undefined)
        expect(sameStored(backend, await inside.get('n2'), a)).toBe(true)
        await backend.delete(`${namespace}n1`)
        expect(await inside.get('n1')).toBeUndefined()
        await inside.set('n3', a, 20 * unit)
        await sleep(40 * unit)
        expect(await inside.get('n3')).toBeUndefined()
        expect(await backend.get(`${namespace}n3`)).toBeUndefined()
        // A plain write into a namespace before its first view is found by the view too.
        const fresh = `${key()}:r:`
        await backend.set(`${fresh}early`, a, undefined)
        const late = view(fresh)
        await late.set('late', b, undefined)
        expect(sameStored(backend, await late.get('early'), a)).toBe(true)
        expect(await late.get('never')).toBeUndefined()
        // Two views of one namespace (two caches over one backend) see each other's writes.
        const again = view(namespace)
        await again.set('n4', b, undefined)
        expect(sameStored(backend, await inside.get('n4'), b)).toBe(true)
      },
    )

    it.skipIf(!reclaimPrefix)(
      'accelerations().reclaimPrefix keeps what is written after it and outside the prefix (and with settle, drops the rest)',
      async () => {
        const backend = harness.backend()
        const prefix = `${key()}:r:`
        const value = sample(backend, 'v')
        await backend.set(`${prefix}old`, value, undefined)
        await backend.set(`${prefix.slice(0, -1)}old`, value, undefined)
        await backend.set(`${prefix.slice(0, -2)}s:old`, value, undefined)
        // A backend may tell old from new by write time: give the old keys a millisecond of their own.
        // The new keys below may share the hint's millisecond, and must still be kept.
        await sleep(3)
        await accelerationsOf(backend).reclaimPrefix!(prefix)
        await backend.set(`${prefix}new`, value, undefined)
        await backend.set(`${prefix}old2`, value, undefined)
        await harness.options.settle?.(backend)
        await sleep(20)
        expect(sameStored(backend, await backend.get(`${prefix}new`), value)).toBe(true)
        expect(sameStored(backend, await backend.get(`${prefix}old2`), value)).toBe(true)
        expect(sameStored(backend, await backend.get(`${prefix.slice(0, -1)}old`), value)).toBe(true)
        expect(sameStored(backend, await backend.get(`${prefix.slice(0, -2)}s:old`), value)).toBe(true)
        if (harness.options.settle) expect(await backend.get(`${prefix}old`)).toBeUndefined()
      },
    )

    it.skipIf(!kit.implements('getMany'))('getMany returns one slot per key, in order', async () => {
      const backend = harness.backend()
      const [a, b, c] = [key(), key(), key()]
      const va = sample(backend, 'a')
      const vc = sample(backend, 'c')
      await backend.set(a, va, undefined)
      await backend.set(c, vc, undefined)
      const got = await full(backend).getMany([a, b, c, a])
      expect(got).toHaveLength(4)
      expect(sameStored(backend, got[0], va)).toBe(true)
      expect(got[1]).toBeUndefined()
      expect(sameStored(backend, got[2], vc)).toBe(true)
      expect(sameStored(backend, got[3], va)).toBe(true)
    })

    it.skipIf(!kit.implements('setMany'))('setMany writes every entry with its own ttl', async () => {
      const backend = harness.backend()
      const unit = harness.ttlUnitMs
      const [a, b] = [key(), key()]
      await full(backend).setMany([
        { key: a, value: sample(backend, 'a'), ttlMs: undefined },
        { key: b, value: sample(backend, 'b'), ttlMs: 20 * unit },
      ])
      expect(await backend.get(a)).toBeDefined()
      expect(await backend.get(b)).toBeDefined()
      await sleep(40 * unit)
      expect(await backend.get(a)).toBeDefined()
      expect(await backend.get(b)).toBeUndefined()
    })

    it.skipIf(!kit.implements('deleteMany'))('deleteMany counts the keys that existed', async () => {
      const backend = harness.backend()
      const [a, b, c] = [key(), key(), key()]
      await backend.set(a, sample(backend, 'a'), undefined)
      await backend.set(b, sample(backend, 'b'), undefined)
      expect(await full(backend).deleteMany([a, b, c])).toBe(2)
      expect(await backend.get(a)).toBeUndefined()
    })

    it.skipIf(!kit.implements('setNx'))(
      'setNx stores only when absent, and an expired key counts as absent',
      async () => {
        const backend = harness.backend()
        const unit = harness.ttlUnitMs
        const k = key()
        const first = sample(backend, 'first')
        expect(await full(backend).setNx(k, first, 20 * unit)).toBe(true)
        expect(await full(backend).setNx(k, sample(backend, 'second'), undefined)).toBe(false)
        expect(sameStored(backend, await backend.get(k), first)).toBe(true)
        await sleep(40 * unit)
        expect(await full(backend).setNx(k, sample(backend, 'third'), undefined)).toBe(true)
      },
    )

    it.skipIf(!setGuarded)(
      'accelerations().setGuarded creates an absent guard with its ttl and stores the entry; it never replaces a live guard',
      async () => {
        const backend = harness.backend()
        const guarded = accelerationsOf(backend).setGuarded!
        const unit = harness.ttlUnitMs
        const [guard, entry] = [key(), key()]
        const mine = sample(backend, 'mine')
        const value = sample(backend, 'value')
        await guarded({ key: guard, value: mine, ttlMs: 20 * unit }, { key: entry, value, ttlMs: undefined })
        expect(sameStored(backend, await backend.get(guard), mine)).toBe(true)
        expect(sameStored(backend, await backend.get(entry), value)).toBe(true)
        // A live guard with another value stays as it is (the entry may or may not be written).
        const theirs = sample(backend, 'theirs')
        await guarded(
          { key: guard, value: theirs, ttlMs: undefined },
          { key: key(), value, ttlMs: undefined },
        )
        expect(sameStored(backend, await backend.get(guard), mine)).toBe(true)
        // Once expired, the guard counts as absent.
        await sleep(40 * unit)
        const later = key()
        await guarded(
          { key: guard, value: theirs, ttlMs: undefined },
          { key: later, value, ttlMs: 20 * unit },
        )
        expect(sameStored(backend, await backend.get(guard), theirs)).toBe(true)
        expect(sameStored(backend, await backend.get(later), value)).toBe(true)
        await sleep(40 * unit)
        expect(await backend.get(later)).toBeUndefined()
      },
    )

    it.skipIf(!kit.implements('deleteIfEquals'))(
      'deleteIfEquals deletes only on an exact match',
      async () => {
        const backend = harness.backend()
        const k = key()
        const token = caps.inProcessValues ? 'token-a' : sample(backend, 'token-a')
        await backend.set(k, token, undefined)
        const other = caps.inProcessValues ? 'token-b' : sample(backend, 'token-b')
        expect(await full(backend).deleteIfEquals(k, other)).toBe(false)
        expect(await backend.get(k)).toBeDefined()
        const same = caps.inProcessValues ? 'token-a' : sample(backend, 'token-a')
        expect(await full(backend).deleteIfEquals(k, same)).toBe(true)
        expect(await backend.get(k)).toBeUndefined()
      },
    )

    it.skipIf(!kit.implements('incr'))(
      'incr counts from 0, keeps the first ttl, rejects non-counters',
      async () => {
        const backend = harness.backend()
        const unit = harness.ttlUnitMs
        const k = key()
        expect(await full(backend).incr(k, 1, 30 * unit)).toBe(1)
        expect(await full(backend).incr(k, 5, undefined)).toBe(6)
        expect(await full(backend).incr(k, -10, undefined)).toBe(-4)
        await sleep(60 * unit)
        expect(await backend.get(k)).toBeUndefined()
        const text = key()
        await backend.set(text, sample(backend, 'not a number'), undefined)
        await expect(async () => full(backend).incr(text, 1, undefined)).rejects.toThrow()
      },
    )

    it.skipIf(!kit.implements('expire'))('expire changes the ttl of an existing key only', async () => {
      const backend = harness.backend()
      const unit = harness.ttlUnitMs
      const k = key()
      await backend.set(k, sample(backend, 'v'), undefined)
      expect(await full(backend).expire(k, 20 * unit)).toBe(true)
      expect(await full(backend).expire(key(), 20 * unit)).toBe(false)
      await sleep(40 * unit)
      expect(await backend.get(k)).toBeUndefined()
    })

    it.skipIf(!kit.implements('keys'))('keys lists live keys under a prefix, and only those', async () => {
      const backend = harness.backend()
      const prefix = `${key()}:`
      const unit = harness.ttlUnitMs
      await backend.set(`${prefix}a`, sample(backend, 'a'), undefined)
      await backend.set(`${prefix}b*`, sample(backend, 'b'), undefined)
      await backend.set(`${prefix}gone`, sample(backend, 'c'), 10 * unit)
      await backend.set(`${prefix.slice(0, -1)}x`, sample(backend, 'outside'), undefined)
      await sleep(30 * unit)
      const listed = full(backend).keys(prefix)
      const keys: string[] = []
      if (Symbol.asyncIterator in listed) for await (const k of listed as AsyncIterable<string>) keys.push(k)
      else keys.push(...(await (listed as Iterable<string> | Promise<Iterable<string>>)))
      expect(keys.sort()).toEqual([`${prefix}a`, `${prefix}b*`])
    })

    it.skipIf(!kit.implements('deletePrefix'))(
      'deletePrefix removes exactly the keys under the prefix',
      async () => {
        const backend = harness.backend()
        const prefix = `${key()}:`
        await backend.set(`${prefix}a`, sample(backend, 'a'), undefined)
        await backend.set(`${prefix}%_*`, sample(backend, 'b'), undefined)
        const outside = `${prefix.slice(0, -1)}_x`
        await backend.set(outside, sample(backend, 'c'), undefined)
        expect(await full(backend).deletePrefix(prefix)).toBe(2)
        expect(await backend.get(`${prefix}a`)).toBeUndefined()
        expect(await backend.get(outside)).toBeDefined()
      },
    )

    it.skipIf(!kit.implements('ping'))('ping answers true', async () => {
      expect(await full(harness.backend()).ping()).toBe(true)
    })

    it.skipIf(!caps.persistent)('persistent: data survives closing the instance', async () => {
      const one = harness.backend()
      const k = key()
      const value = sample(one, 'kept')
      await one.set(k, value, undefined)
      await full(one).close?.()
      const two = harness.backend()
      expect(sameStored(two, await two.get(k), value)).toBe(true)
    })

    it.skipIf(!kit.implements('close'))('close can be called twice', async () => {
      const backend = harness.backend()
      await full(backend).close()
      await full(backend).close()
    })

    it.skipIf(!caps.shared)('shared: two instances see each other’s writes and deletes', async () => {
      const one = harness.backend()
      const two = harness.backend()
      const k = key()
      const value = sample(one, 'shared')
      await one.set(k, value, undefined)
      expect(sameStored(two, await two.get(k), value)).toBe(true)
      await two.delete(k)
      expect(await one.get(k)).toBeUndefined()
    })

    // A persistent store that one process uses at a time (a file of its own) is reopened by `create()`
    // for the persistence check, so its second instance sees the first one's data: only an unshared store
    // that does not persist must start empty.
    it.skipIf(caps.shared || caps.persistent)('not shared: a second instance starts empty', async () => {
      const one = harness.backend()
      const two = harness.backend()
      const k = key()
      await one.set(k, sample(one, 'private'), undefined)
      expect(await two.get(k)).toBeUndefined()
    })
  })
}

/**
 * Every optional method, for calling one the test has just established the backend implements: the
 * answer is awaited, so synchronous and asynchronous backends read alike.
 */
type Full = Required<
  Pick<
    AsyncBackend<unknown>,
    | 'getMany'
    | 'setMany'
    | 'deleteMany'
    | 'setNx'
    | 'deleteIfEquals'
    | 'incr'
    | 'expire'
    | 'keys'
    | 'deletePrefix'
    | 'ping'
    | 'close'
  >
>

const full = (backend: AnyBackend) => backend as unknown as Full
