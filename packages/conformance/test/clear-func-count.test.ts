import { createCache } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { withFaults } from '../src/index.js'
import { FullSharedMapBackend } from './fixtures/shared-map-backend.js'

// clearFunc answers how many results it removed. Its invalidation once started the core's background
// reclamation of the same results, which could delete them before clearFunc's own delete listed them
// (seen on Redis): the count came out short. A slow deletePrefix makes that race certain.
describe('clearFunc on a store the core reclaims in the background', () => {
  it('answers every result it removed, however slow its delete', async () => {
    const backend = withFaults(new FullSharedMapBackend('clear-count'))
    const cache = createCache({ domainKey: 'D', backend })
    const f = cache.wrap('F', async (n: number) => n, { ttl: '1h' })
    await f(1)
    await f(2)
    backend.faults.inject({ kind: 'delay', ms: 20, operations: ['deletePrefix'] })
    expect(await cache.clearFunc('F')).toBe(2)
    await cache.close()
  })
})
