// #region usage
import { createCache } from '@rapide/core'
import { Keyv } from 'keyv'
import { expect, it } from 'vitest'
import { KeyvBackend } from '../src/index.js' // in your code: '@rapide-example/backend-keyv'

// Any Keyv works: this one keeps its entries in a Map, under the namespace 'shop'.
const backend = new KeyvBackend({ keyv: new Keyv({ namespace: 'shop' }) })
const cache = createCache({ domainKey: 'SHOP', backend, defaultTtl: '5m' })

let lookUps = 0
const getPrice = cache.wrap('GET_PRICE', async (sku: string) => {
  lookUps++
  return sku === 'A-1' ? 990 : 1490
})
// #endregion usage

it('the README’s usage example caches, invalidates and closes', async () => {
  expect(await getPrice('A-1')).toBe(990)
  expect(await getPrice('A-1')).toBe(990)
  expect(lookUps).toBe(1)
  await cache.invalidateResult('GET_PRICE', 'A-1')
  expect(await getPrice('A-1')).toBe(990)
  expect(lookUps).toBe(2)
  await cache.close()
  await backend.close()
})
