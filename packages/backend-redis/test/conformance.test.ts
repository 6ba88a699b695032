import { runBackendConformance } from '@rapide/conformance'
import { describe, inject, it } from 'vitest'
import { RedisBackend } from '../src/index.js'

const url = inject('redisUrl')
const clusterUrls = inject('redisClusterUrls')

if (url) runBackendConformance({ name: 'redis (standalone)', create: () => new RedisBackend({ url }) })
else describe.skip('rapide conformance: redis (standalone): no Redis', () => it('needs Redis', () => {}))

if (clusterUrls) {
  runBackendConformance({
    name: 'redis (3-master cluster)',
    create: () => new RedisBackend({ url: clusterUrls, cluster: true }),
  })
} else
  describe.skip('rapide conformance: redis (cluster): no redis-server', () =>
    it('needs redis-server', () => {}))
