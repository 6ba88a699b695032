import { RedisBackend } from '@rapide/backend-redis'
import { RedisServer, redisBinariesAvailable } from '@rapide/backend-redis/testing'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp, customerId } from '../src/service/app.js'
import { CustomerStore } from '../src/service/customer-store.js'

/** The routes in this process (Fastify's `inject`, no socket): quick checks of what a read answers. */
async function service(backend: SqliteBackend | RedisBackend, readDelayMs = 40) {
  const store = new CustomerStore(':memory:', readDelayMs)
  store.seed(20)
  const cache = createCache({ domainKey: 'CUSTOMERS', backend, defaultTtl: '10m' })
  const app = buildApp(store, cache)
  let reads = 0
  const find = store.find.bind(store)
  store.find = (id) => {
    reads++
    return find(id)
  }
  return {
    app,
    reads: () => reads,
    get: async (id: string) => {
      const response = await app.inject({ method: 'GET', url: `/customers/${id}` })
      return { status: response.statusCode, cache: response.headers['x-cache'], body: response.json() }
    },
    close: async () => {
      await app.close()
      await cache.close()
      store.close()
    },
  }
}

describe('customer ids', () => {
  it('only canonical decimal ids are customer numbers', () => {
    for (const good of ['1', '7', '42', '1000', '9007199254740991'])
      expect(customerId(good), good).toBe(Number(good))
    for (const bad of [
      '0',
      '00',
      '01',
      '0x1',
      '1e1',
      '+1',
      '-1',
      '1.0',
      '1.',
      ' 1',
      '1 ',
      '\t1',
      '1\n',
      '',
      'abc',
      '１',
      '0b1',
      '1_000',
      'Infinity',
      '9007199254740992',
      '99999999999999999999',
    ]) {
      expect(customerId(bad), JSON.stringify(bad)).toBeUndefined()
    }
  })

  it('a non-canonical id gets a 400 with a JSON error, and reaches neither the cache nor the database', async () => {
    const s = await service(new SqliteBackend({ path: ':memory:' }))
    try {
      for (const bad of ['0x1', '1e1', '+1', '1.0', '%201', '01', '0', '-3', 'abc']) {
        const answer = await s.get(bad)
        expect(answer.status, bad).toBe(400)
        expect(answer.body.error, bad).toMatch(/customer id must be a decimal integer/)
        expect(answer.cache, bad).toBeUndefined()
      }
      const put = await s.app.inject({ method: 'PUT', url: '/customers/0x1', payload: { name: 'X' } })
      expect(put.statusCode).toBe(400)
      expect(put.json().error).toMatch(/customer id must be a decimal integer/)
      expect(s.reads()).toBe(0)
      expect((await s.get('1')).status).toBe(200)
    } finally {
      await s.close()
    }
  })
})

const redis = await redisBinariesAvailable()
const server = redis ? await RedisServer.start() : undefined
afterAll(async () => server?.stop())

describe.each([
  ['SQLite', () => new SqliteBackend({ path: ':memory:' })],
  ...(server ? [['Redis', () => new RedisBackend({ url: server.url })] as const] : []),
] as const)('x-cache on %s', (_name, backend) => {
  it('labels callers that waited for another caller’s read JOINED, not HIT', async () => {
    const s = await service(backend())
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => s.get('5')))
      expect(s.reads()).toBe(1)
      const labels = answers.map((a) => a.cache).sort()
      expect(labels).toEqual(['JOINED', 'JOINED', 'JOINED', 'JOINED', 'JOINED', 'MISS'])
      for (const answer of answers) {
        expect(answer.body.customer.id).toBe(5)
        expect(answer.body.cache).toBe(String(answer.cache).toLowerCase())
        // Joining took as long as the read: nothing about it was a cache hit.
        expect(answer.body.ms).toBeGreaterThanOrEqual(30)
      }
      const later = await s.get('5')
      expect(later.cache).toBe('HIT')
      expect(later.body.cache).toBe('hit')
      expect(s.reads()).toBe(1)
    } finally {
      await s.close()
    }
  })

  it('a hit on another customer during a read does not relabel the reading callers', async () => {
    const s = await service(backend())
    try {
      await s.get('2')
      const [reading, hit] = await Promise.all([s.get('3'), s.get('2')])
      expect(reading.cache).toBe('MISS')
      expect(hit.cache).toBe('HIT')
    } finally {
      await s.close()
    }
  })
})
