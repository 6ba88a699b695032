import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createCache, encodeArguments } from '../src/index.js'
import { describeKey, generationKeysOf, namespaceOf } from '../src/keys/describe-key.js'
import { boundArgumentKey, closeGroup, functionGenerationSuffix, KeyLayout } from '../src/keys/key-layout.js'
import { CountingStoreBackend } from './support/backends.js'

/** Names holding every character the layout escapes or splits on. */
const name = fc.string({
  minLength: 1,
  maxLength: 8,
  unit: fc.constantFrom('a', 'Z', '%', ':', '{', '}', '|', '@', 'é', '7', 'C'),
})
/** Key prefixes: free text without braces, or with one complete `{tag}` group as the layout allows. */
const keyPrefix = fc.oneof(
  fc.string({ maxLength: 6, unit: fc.constantFrom('a', '%', ':', '|', '7', 'C', '-') }),
  fc
    .tuple(fc.constantFrom('', 'x:', '%|'), fc.stringMatching(/^[a-z%|:]{1,4}$/))
    .map(([before, tag]) => `${before}{${tag}}:`),
)
const argumentKey = fc.oneof(
  fc.string({
    minLength: 1,
    maxLength: 10,
    unit: fc.constantFrom('n', '1', '"', '}', '{', '%', '7', 'D', ':', ','),
  }),
  fc.string({ minLength: 65, maxLength: 80 }).map((long) => boundArgumentKey(long)),
)

describe('describeKey reads back what KeyLayout builds', () => {
  it('the README example', () => {
    expect(describeKey('app|SHOP:r:{GET_PRICE:1:"A-1"}')).toEqual({
      keyPrefix: 'app',
      domain: 'SHOP',
      kind: 'result',
      functionKey: 'GET_PRICE',
      version: '1',
      argumentKey: '"A-1"',
    })
  })

  it('round-trips every kind of key, escapes and braces included', () => {
    fc.assert(
      fc.property(
        keyPrefix,
        name,
        name,
        name,
        argumentKey,
        name,
        fc.nat(),
        (prefix, domain, fn, version, args, other, window) => {
          const layout = new KeyLayout(prefix, domain, version)
          const where = { keyPrefix: prefix, domain }
          const call = { functionKey: fn, version, argumentKey: args }
          const closed = closeGroup(args)
          expect(describeKey(layout.domainGeneration)).toEqual({ ...where, kind: 'domain-generation' })
          expect(describeKey(layout.functionNamespace(fn) + functionGenerationSuffix)).toEqual({
            ...where,
            kind: 'function-generation',
            functionKey: fn,
            version,
          })
          expect(describeKey(layout.resultNamespace(fn) + closed)).toEqual({
            ...where,
            kind: 'result',
            ...call,
          })
          expect(describeKey(layout.resultGenerationNamespace(fn) + closed)).toEqual({
            ...where,
            kind: 'result-generation',
            ...call,
          })
          expect(describeKey(layout.computationLockNamespace(fn) + closed)).toEqual({
            ...where,
            kind: 'computation-lock',
            ...call,
          })
          expect(describeKey(`${layout.rateLimitNamespace(fn) + closed}@${window}`)).toEqual({
            ...where,
            kind: 'rate-limit',
            ...call,
            window,
          })
          expect(describeKey(layout.keyValue(other))).toEqual({
            ...where,
            kind: 'key-value',
            version,
            name: other,
          })
          expect(describeKey(layout.keyValue(other, `${version}:x`))).toEqual({
            ...where,
            kind: 'key-value',
            version: `${version}:x`,
            name: other,
          })
          expect(describeKey(layout.lock(other))).toEqual({ ...where, kind: 'lock', name: other })
          expect(generationKeysOf(layout.resultNamespace(fn) + closed)).toEqual([
            layout.domainGeneration,
            layout.functionNamespace(fn) + functionGenerationSuffix,
            layout.resultGenerationNamespace(fn) + closed,
          ])
          expect(generationKeysOf(layout.resultGenerationNamespace(fn) + closed)).toBeUndefined()
          expect(namespaceOf({ keyPrefix: prefix, domainKey: domain })).toBe(layout.namespace)
          const prefixOnly = namespaceOf({ keyPrefix: prefix })
          expect(layout.namespace.startsWith(prefixOnly)).toBe(true)
          expect(describeKey(`${prefixOnly}x:@ping`)?.keyPrefix).toBe(prefix)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('keeps a memory backend’s argument key (no closed group) as it is', () => {
    const layout = new KeyLayout('', 'D', '1')
    expect(describeKey(`${layout.resultNamespace('f')}n1`)).toMatchObject({
      kind: 'result',
      argumentKey: 'n1',
    })
  })

  it('describes every key a cache writes on a shared store, none as foreign', async () => {
    const store = new Map<string, { value: Uint8Array; expiresAt: number }>()
    const cache = createCache({
      domainKey: 'sh:op',
      keyPrefix: '{t}:',
      backend: new CountingStoreBackend(store),
    })
    const price = cache.wrap('get:price', async (sku: string) => sku.length, {
      lock: { ttl: '5s' },
      rateLimit: { limit: 100, period: '1h' },
    })
    await price('A}1%')
    await cache.invalidateFunc('get:price')
    await price('A}1%')
    await cache.set('cart|42', 1)
    await cache.lock('nightly', { ttl: '1s' })
    await cache.close()
    const kinds = new Set<string>()
    for (const key of store.keys()) {
      const described = describeKey(key)
      expect(described, key).toMatchObject({ keyPrefix: '{t}:', domain: 'sh:op' })
      expect(described!.kind, key).not.toBe('foreign')
      kinds.add(described!.kind)
      if (described!.kind === 'result') {
        for (const generation of generationKeysOf(key)!) expect(store.has(generation), generation).toBe(true)
        expect(described).toMatchObject({
          functionKey: 'get:price',
          version: '1',
          argumentKey: encodeArguments(['A}1%']),
        })
      }
    }
    expect([...kinds].sort()).toEqual(
      [
        'domain-generation',
        'function-generation',
        'key-value',
        'lock',
        'rate-limit',
        'result',
        'result-generation',
      ].sort(),
    )
  })
})

describe('describeKey tells keys rapide did not write', () => {
  it.each([
    ['no namespace', 'session:42'],
    ['an empty domain', 'app|:r:{f:1:n1}'],
    ['a % that escapes nothing in the prefix', 'a%41|D:@g'],
    ['a % that escapes nothing in the domain', 'a|D%41:k:1:x'],
    ['an unescaped brace in the domain', 'a|D{:k:1:x'],
  ])('undefined for %s', (_, key) => {
    expect(describeKey(key)).toBeUndefined()
  })

  it.each([
    ['an unknown tag', 'a|D:z:1'],
    ['a result without function segments', 'a|D:r:{f}'],
    ['a result whose arguments hold an unescaped }', 'a|D:r:{f:1:a}b}'],
    ['arguments with a bad escape', 'a|D:r:{f:1:%41}'],
    ['a rate-limit counter without its period', 'a|D:q:{f:1:n1}'],
    ['a rate-limit counter with a period that is not a number', 'a|D:q:{f:1:n1}@x'],
    ['another domain’s generation group', 'a|D:{E}:@g'],
    ['a function generation with extra segments', 'a|D:{D}:f:g:1:x:@g'],
    ['a key-value entry without a version', 'a|D:k:x'],
    ['the ping probe', 'a|D:@ping'],
  ])('foreign for %s', (_, key) => {
    expect(describeKey(key)).toEqual({ keyPrefix: 'a', domain: 'D', kind: 'foreign' })
  })
})
