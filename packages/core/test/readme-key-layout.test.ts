import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type AnyBackend, createCache, encodeArguments } from '../src/index.js'
import { boundArgumentKey, closeGroup, functionGenerationSuffix, KeyLayout } from '../src/keys/key-layout.js'
import { CountingStoreBackend } from './support/backends.js'

/** The keys of the README's "Key layout" table, in order. */
function readmeKeys(): string[] {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
  const start = readme.indexOf('<!-- key-layout:start -->')
  const end = readme.indexOf('<!-- key-layout:end -->')
  expect(start, 'the README marks its key layout table').toBeGreaterThan(0)
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => /^\| `((?:[^`])+)`/.exec(line)![1]!.replaceAll('\\|', '|'))
}

describe('the core README’s key layout is the one the code uses', () => {
  it('matches KeyLayout for the README’s example names', () => {
    const layout = new KeyLayout('app', 'SHOP', '1')
    const args = closeGroup(boundArgumentKey(encodeArguments(['A-1'])))
    expect(readmeKeys()).toEqual([
      layout.domainGeneration,
      layout.functionNamespace('GET_PRICE') + functionGenerationSuffix,
      layout.resultGenerationNamespace('GET_PRICE') + args,
      layout.resultNamespace('GET_PRICE') + args,
      layout.computationLockNamespace('GET_PRICE') + args,
      `${layout.rateLimitNamespace('GET_PRICE') + args}@{period}`,
      layout.keyValue('cart:42'),
      layout.lock('nightly'),
    ])
  })

  it('is what the engine writes on a shared store', async () => {
    const store = new CountingStoreBackend(new Map())
    const touched = new Set<string>()
    const record = (arg: unknown) => {
      if (typeof arg === 'string') touched.add(arg)
      else if (Array.isArray(arg)) for (const item of arg) record(typeof item === 'string' ? item : item?.key)
      else if (arg && typeof arg === 'object' && 'key' in arg) record((arg as { key: unknown }).key)
    }
    const backend = new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          for (const arg of args) record(arg)
          return value.apply(target, args)
        }
      },
    }) as unknown as AnyBackend
    const cache = createCache({ domainKey: 'SHOP', keyPrefix: 'app', version: 1, backend })
    const getPrice = cache.wrap('GET_PRICE', async (sku: string) => sku.length, {
      lock: { ttl: '5s' },
      rateLimit: { limit: 100, period: '1h' },
    })
    await getPrice('A-1')
    await cache.invalidateResult('GET_PRICE', 'A-1')
    await getPrice('A-1')
    await cache.set('cart:42', [1, 2])
    await cache.lock('nightly', { ttl: '1s' })
    const period = Math.floor(Date.now() / 3_600_000)
    for (const key of readmeKeys()) expect([...touched]).toContain(key.replace('{period}', String(period)))
  })
})
