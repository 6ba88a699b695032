import { deserialize, serialize } from 'node:v8'
import KeyvRedis from '@keyv/redis'
import { RedisBackend } from '@rapide/backend-redis'
import { createCache as createRapide } from '@rapide/core'
import { BentoCache, bentostore } from 'bentocache'
import { redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { Keyv } from 'keyv'
import type { Subject } from './subjects.js'
import { loadCustomer } from './workload.js'

const HOUR_MS = 3_600_000

/**
 * The Redis subjects, all on one server (each under its own key prefix), each with its own connection:
 *
 * - rapide on `RedisBackend` (default options: one hit is one `MGET` of the entry and its generations);
 * - the raw client: ioredis with default options, `GET` + `node:v8` deserialize (rapide's default
 *   serializer), `SET … PX` on a miss: what a careful hand-written cache does, with no invalidation;
 * - bentocache with its Redis driver as the only layer (an L1 memory layer would answer hits without
 *   Redis, which is another benchmark: see the memory group);
 * - cache-manager over Keyv with @keyv/redis (node-redis client).
 */
export function redisSubjects(url: string): Subject[] {
  const backend = new RedisBackend({ url })
  const rapide = createRapide({ domainKey: 'BENCH', backend, defaultTtl: '1h' })
  const rapideCall = rapide.wrap('LOAD_CUSTOMER', async (id: number) => loadCustomer(id))

  const client = new Redis(url)
  const raw = async (id: number) => {
    const key = `raw:customer:${id}`
    const stored = await client.getBuffer(key)
    if (stored !== null) return deserialize(stored)
    const value = loadCustomer(id)
    await client.set(key, serialize(value), 'PX', HOUR_MS)
    return value
  }

  const bento = new BentoCache({
    default: 'redis',
    stores: {
      redis: bentostore().useL2Layer(
        redisDriver({
          connection: { host: new URL(url).hostname, port: Number(new URL(url).port), keyPrefix: 'bento:' },
        }),
      ),
    },
  })

  const manager = createCacheManager({
    stores: [new Keyv({ store: new KeyvRedis(url), namespace: 'keyv' })],
    ttl: HOUR_MS,
  })

  return [
    {
      name: 'rapide redis (async fn)',
      async: true,
      rapide: true,
      call: rapideCall,
      close: async () => {
        await rapide.close()
        await backend.close()
      },
    },
    {
      name: 'raw ioredis GET + v8',
      async: true,
      rapide: false,
      call: raw,
      close: () => client.quit(),
    },
    {
      name: 'bentocache (redis L2)',
      async: true,
      rapide: false,
      call: (id) => bento.getOrSet({ key: `customer:${id}`, factory: () => loadCustomer(id), ttl: HOUR_MS }),
      close: () => bento.disconnectAll(),
    },
    {
      name: 'cache-manager + @keyv/redis',
      async: true,
      rapide: false,
      call: (id) => manager.wrap(`customer:${id}`, async () => loadCustomer(id)),
      close: () => manager.disconnect(),
    },
  ]
}
