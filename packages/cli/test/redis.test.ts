import { RedisBackend } from '@rapide/backend-redis'
import { RedisServer, redisBinariesAvailable } from '@rapide/backend-redis/testing'
import { createCache } from '@rapide/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json, runCli } from './support/run-cli.js'

const available = await redisBinariesAvailable()
if (!available && process.env.CI)
  throw new Error('redis-server is not on the PATH: under CI the Redis tests may not be skipped')

describe.skipIf(!available)('rapide against Redis shared with a live app', () => {
  let server: RedisServer
  let backend: RedisBackend
  const computed = { price: 0, users: 0 }

  beforeAll(async () => {
    server = await RedisServer.start()
    backend = new RedisBackend({ url: server.url })
  })

  afterAll(async () => {
    await backend?.close()
    await server?.stop()
  })

  it('ping, stats, keys, get, invalidate and clear, each on the store the app uses', async () => {
    const shop = createCache({ domainKey: 'SHOP', backend })
    const users = createCache({ domainKey: 'USERS', backend })
    const price = shop.wrap('GET_PRICE', async (sku: string) => {
      computed.price++
      return { sku }
    })
    const user = users.wrap('USER', async (id: number) => {
      computed.users++
      return id
    })
    for (let i = 0; i < 30; i++) await price(`A-${i}`)
    for (let i = 0; i < 3; i++) await user(i)
    const url = server.url

    expect(json(await runCli(['ping', url, '--json']))).toMatchObject({ backend: 'redis', reachable: true })

    const stats = json<{
      domains: { domain: string; functions: { functionKey: string; results: number; dead: number }[] }[]
    }>(await runCli(['stats', url, '--json']))
    expect(stats.domains.find((d) => d.domain === 'SHOP')?.functions).toEqual([
      expect.objectContaining({ functionKey: 'GET_PRICE', results: 30, dead: 0 }),
    ])

    const raw = await runCli(['keys', url, '--raw', '*GET_PRICE:1:sA-7}'])
    expect(raw.stdout.trim().split('\n').sort()).toEqual([
      '|SHOP:g:{GET_PRICE:1:sA-7}',
      '|SHOP:r:{GET_PRICE:1:sA-7}',
    ])

    const entry = await runCli(['get', url, '|SHOP:r:{GET_PRICE:1:sA-7}', '--json'])
    expect(json(entry)).toMatchObject({ live: true, value: { sku: 'A-7' } })
    expect((await runCli(['get', url, '|SHOP:r:{GET_PRICE:1:none}'])).code).toBe(3)

    expect(
      (await runCli(['invalidate', url, '--domain', 'SHOP', '--function', 'GET_PRICE', '--yes'])).code,
    ).toBe(0)
    const before = computed.price
    await price('A-1')
    expect(computed.price).toBe(before + 1)

    const cleared = await runCli(['clear', url, '--domain', 'SHOP', '--yes', '--json'])
    expect(cleared.code).toBe(0)
    expect(json<{ removed: number }>(cleared).removed).toBeGreaterThan(0)
    const left = (await runCli(['keys', url, '--raw', '--domain', 'SHOP'])).stdout
    expect(left.trim().split('\n').sort()).toEqual(['|SHOP:{SHOP}:@g', '|SHOP:{SHOP}:f:GET_PRICE:1:@g'])
    await user(1)
    expect(computed.users).toBe(3)
    await shop.close()
    await users.close()
  })
})
