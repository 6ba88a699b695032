import { crc32 } from 'node:zlib'
import {
  type AnyBackend,
  type Cache,
  createCache,
  SignatureError,
  type SignOptions,
  signingKeyId,
  v8Serializer,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { applicability } from '../applicability.js'
import { type Harness, uniqueName } from '../harness.js'
import { FIRST_PLACEMENT, type Placement } from './engine-context.js'

const KEY = 'conformance-signing-key-0123456789abcdef0123'
const NEXT = 'conformance-next-signing-key-0123456789abcde'
const FOREIGN = 'conformance-foreign-key-0123456789abcdef0123'

/** The entry as a forger with write access to the store rewrites it: another payload, its CRC recomputed. */
function forged(stored: unknown, value: unknown): Uint8Array {
  const bytes = Buffer.from(stored as Uint8Array)
  const headerEnd = 4 + bytes.readUInt16BE(2)
  const payloadEnd = bytes.length - 4 - ((bytes[1]! & 4) !== 0 ? 36 : 0)
  const body = Buffer.concat([
    bytes.subarray(0, headerEnd),
    Buffer.from(v8Serializer.encode(value)),
    bytes.subarray(payloadEnd, bytes.length - 4),
  ])
  const checksum = Buffer.alloc(4)
  checksum.writeUInt32LE(crc32(body))
  return new Uint8Array(Buffer.concat([body, checksum]))
}

/** `backend`, with the keys of the single writes (`set`) made through it recorded in order. */
function recordingWrites<B extends AnyBackend>(backend: B): { backend: B; written: string[] } {
  const written: string[] = []
  const recorded = new Proxy(backend, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property, target)
      if (typeof member !== 'function') return member
      if (property !== 'set') return member.bind(target)
      return (key: string, ...rest: unknown[]) => {
        written.push(key)
        return member.call(target, key, ...rest)
      }
    },
  })
  return { backend: recorded, written }
}

/**
 * Signed values (`createCache({ sign })`) over the backend: what one cache stores comes back verified; a
 * forged payload, an entry moved to another key (arguments, function, domain), an unsigned entry or one
 * signed by a foreign key is a reported miss (`SignatureError`), never the value; an older entry of the
 * same key is refused once an invalidation moved past it; instances in neighbouring steps of a key
 * rotation read each other's entries. The kit writes the forged bytes with the backend's own `set`, as an
 * attacker with access to the store would. Skipped on a backend of live values (`inProcessValues`): it
 * holds no bytes, so there is nothing to sign.
 */
export function signingTests<B extends AnyBackend>(
  harness: Harness<B>,
  probe: B,
  placement: Placement = FIRST_PLACEMENT,
): void {
  const kit = applicability(probe)
  const skip = kit.inProcessValues
  const why = skip ? ' (skipped: the backend keeps live values (inProcessValues): no bytes to sign)' : ''
  const notShared = kit.shared
    ? ''
    : ' (skipped: the backend is not shared (capabilities.shared): one process only)'

  /** A signing cache over `backend`, recording its decode errors and where it stored what. */
  const signed = (backend: B, sign: SignOptions = { key: KEY }, domainKey = uniqueName('DOMAIN')) => {
    const cache = createCache({ domainKey, backend, keyPrefix: placement.keyPrefix, sign, onError: 'raise' })
    const refused: SignatureError[] = []
    const stored: string[] = []
    cache.on('error', ({ operation, error }) => {
      expect(operation).toBe('decode')
      expect(error).toBeInstanceOf(SignatureError)
      refused.push(error as SignatureError)
    })
    cache.on('set', ({ key }) => stored.push(key))
    return { cache: cache as Cache<B>, refused, stored }
  }
  const reasons = (refused: SignatureError[]) => refused.map((error) => error.reason)

  describe('signed values', () => {
    it.skipIf(skip)(`a signed result round-trips${why}`, async () => {
      const { cache, refused } = signed(harness.backend(), { key: KEY }, uniqueName('DOMAIN'))
      let calls = 0
      const value = { id: 7, when: new Date(0), tags: new Set(['a']) }
      const f = cache.wrap('F', (_n: number) => {
        calls++
        return value
      })
      await f(1)
      expect(await f(1)).toEqual(value)
      expect(calls).toBe(1)
      expect(refused).toEqual([])
      await cache.close()
    })

    // What another instance reads is a check of the `shared` claim: named so, skipped without it.
    it.skipIf(skip || !kit.shared)(
      `shared: a signed result is read by another instance with the same key${kit.shared ? why : ' (skipped: the backend does not claim to be shared)'}`,
      async () => {
        const domainKey = uniqueName('DOMAIN')
        const one = signed(harness.backend(), { key: KEY }, domainKey)
        const other = signed(harness.backendOfAnotherProcess(), { key: KEY }, domainKey)
        let calls = 0
        const value = { id: 7, when: new Date(0), tags: new Set(['a']) }
        const compute = (_n: number) => {
          calls++
          return value
        }
        await one.cache.wrap('F', compute)(1)
        expect(await other.cache.wrap('F', compute)(1)).toEqual(value)
        expect(calls).toBe(1)
        expect(one.refused.concat(other.refused)).toEqual([])
        await Promise.all([one.cache.close(), other.cache.close()])
      },
    )

    it.skipIf(skip)(
      `a forged payload (checksum recomputed) is a reported miss, never the forged value${why}`,
      async () => {
        const backend = harness.backend()
        const { cache, refused, stored } = signed(backend)
        let calls = 0
        const f = cache.wrap('F', async (n: number) => ({ n, admin: false, calls: ++calls }))
        await f(1)
        await backend.set(stored[0]!, forged(await backend.get(stored[0]!), { n: 1, admin: true }), undefined)
        expect(await f(1)).toEqual({ n: 1, admin: false, calls: 2 })
        expect(reasons(refused)).toEqual(['mismatch'])
        expect(refused[0]!.code).toBe('E_BAD_SIGNATURE')
        await cache.close()
      },
    )

    it.skipIf(skip)(
      `an entry moved to another argument list, function or domain is a reported miss${why}`,
      async () => {
        const backend = harness.backend()
        const a = signed(backend)
        const b = signed(backend)
        const fa = a.cache.wrap('F', (n: number) => `F(${n}) of a`)
        const ga = a.cache.wrap('G', (n: number) => `G(${n}) of a`)
        const fb = b.cache.wrap('F', (n: number) => `F(${n}) of b`)
        for (const call of [() => fa(1), () => fa(2), () => ga(1), () => fb(1)]) await call()
        const [fa1, fa2, ga1, fb1] = a.stored.concat(b.stored) as [string, string, string, string]
        const secret = await backend.get(fa1)
        for (const target of [fa2, ga1, fb1]) await backend.set(target, secret as never, undefined)
        expect([await fa(2), await ga(1), await fb(1)]).toEqual(['F(2) of a', 'G(1) of a', 'F(1) of b'])
        expect(reasons(a.refused.concat(b.refused))).toEqual(['mismatch', 'mismatch', 'mismatch'])
        await Promise.all([a.cache.close(), b.cache.close()])
      },
    )

    it.skipIf(skip)(
      `key-value values: a swapped, unsigned or foreign-signed value is a reported miss${why}`,
      async () => {
        const backend = harness.backend()
        const domainKey = uniqueName('DOMAIN')
        const { backend: recorded, written } = recordingWrites(backend)
        const { cache, refused } = signed(recorded, { key: KEY }, domainKey)
        const plain = createCache({ domainKey, backend, keyPrefix: placement.keyPrefix })
        const foreign = signed(backend, { key: FOREIGN }, domainKey)
        await cache.set('role:alice', 'admin')
        await cache.set('role:bob', 'reader')
        expect(await cache.getMany(['role:alice', 'role:bob'])).toEqual(['admin', 'reader'])
        const [alice, bob] = written as [string, string]
        await backend.set(bob, (await backend.get(alice)) as never, undefined)
        expect(await cache.get('role:bob')).toBeUndefined()
        await plain.set('role:carol', 'admin')
        expect(await cache.get('role:carol')).toBeUndefined()
        await foreign.cache.set('role:dave', 'admin')
        expect(await cache.get('role:dave')).toBeUndefined()
        expect(await cache.get('role:alice')).toBe('admin')
        expect(reasons(refused)).toEqual(['mismatch', 'unsigned', 'unknown-key'])
        expect(refused[2]!.keyId).toBe(signingKeyId(FOREIGN))
        await Promise.all([cache.close(), plain.close(), foreign.cache.close()])
      },
    )

    // On a store one process uses alone, invalidating a result deletes it (no generation moves), so the
    // case needs a shared store, where invalidations move generations the signed stamp names.
    it.skipIf(skip || !kit.shared)(
      `shared: an older signed entry of the same key is refused once an invalidation moved past it${why || notShared}`,
      async () => {
        const backend = harness.backend()
        const { cache, stored } = signed(backend)
        let version = 1
        const f = cache.wrap('F', async (_n: number) => `v${version}`)
        expect(await f(1)).toBe('v1')
        const old = await backend.get(stored[0]!)
        version = 2
        await cache.invalidateResult('F', 1)
        expect(await f(1)).toBe('v2')
        await backend.set(stored[0]!, old as never, undefined)
        expect(await f(1)).toBe('v2')
        await cache.close()
      },
    )

    it.skipIf(skip || !kit.shared)(
      `shared: key rotation: instances one step apart read each other's entries${why || notShared}`,
      async () => {
        const steps: SignOptions[] = [
          { key: KEY },
          { key: KEY, acceptedKeys: [NEXT] },
          { key: NEXT, acceptedKeys: [KEY] },
        ]
        for (let i = 0; i < 2; i++) {
          const domainKey = uniqueName('DOMAIN')
          const older = signed(harness.backend(), steps[i], domainKey)
          const newer = signed(harness.backendOfAnotherProcess(), steps[i + 1], domainKey)
          let calls = 0
          const compute = (n: number) => {
            calls++
            return n * 10
          }
          const fo = older.cache.wrap('F', compute)
          const fn = newer.cache.wrap('F', compute)
          expect([await fo(1), await fn(1), await fn(2), await fo(2)]).toEqual([10, 10, 20, 20])
          expect(calls).toBe(2)
          expect(older.refused.concat(newer.refused)).toEqual([])
          await Promise.all([older.cache.close(), newer.cache.close()])
        }
      },
    )
  })
}
