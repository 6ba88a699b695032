import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiskBackend } from '@rapide/backend-disk'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { type Backend, createCache } from '@rapide/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { json, runCli } from './support/run-cli.js'

interface Store {
  readonly name: string
  open(dir: string): { url: string; backend: Backend<unknown> }
}

const stores: Store[] = [
  {
    name: 'SQLite file',
    open: (dir) => {
      const path = join(dir, 'app.db')
      return { url: `sqlite://${path}`, backend: new SqliteBackend({ path }) }
    },
  },
  {
    name: 'disk directory',
    open: (dir) => {
      const directory = join(dir, 'cache')
      return { url: `disk://${directory}`, backend: new DiskBackend({ directory }) }
    },
  },
]

/**
 * A running application on the store: domain SHOP under key prefix `app` (two functions and a key-value
 * entry), the same domain name without a prefix, and another domain: what `clear` must not touch.
 */
function liveApp(backend: Backend<unknown>) {
  const computed = { price: 0, stock: 0, bare: 0, users: 0 }
  const shop = createCache({ domainKey: 'SHOP', keyPrefix: 'app', backend })
  const bare = createCache({ domainKey: 'SHOP', backend })
  const users = createCache({ domainKey: 'USERS', keyPrefix: 'app', backend })
  const app = {
    computed,
    price: shop.wrap('GET_PRICE', (sku: string) => {
      computed.price++
      return { sku, price: sku.length * 10 }
    }),
    stock: shop.wrap('GET_STOCK', (sku: string) => {
      computed.stock++
      return sku.length
    }),
    barePrice: bare.wrap('GET_PRICE', (sku: string) => {
      computed.bare++
      return sku
    }),
    user: users.wrap('USER', (id: number) => {
      computed.users++
      return { id }
    }),
    shop,
    async close() {
      await Promise.all([shop.close(), bare.close(), users.close()])
    },
  }
  for (let i = 0; i < 20; i++) {
    app.price(`A-${i}`)
    app.stock(`A-${i}`)
    app.barePrice(`A-${i}`)
  }
  for (let i = 0; i < 5; i++) app.user(i)
  shop.set('cart:42', [1, 2, 3])
  return app
}

interface StatsJson {
  keys: number
  domains: {
    keyPrefix: string
    domain: string
    keyValue: { entries: number }
    functions: { functionKey: string; results: number; dead: number; resultGenerations: number }[]
  }[]
}

function fnStats(stats: StatsJson, keyPrefix: string, domain: string, functionKey: string) {
  return stats.domains
    .find((d) => d.keyPrefix === keyPrefix && d.domain === domain)
    ?.functions.find((f) => f.functionKey === functionKey)
}

describe.each(stores)('rapide against a $name written by a live app', (store) => {
  let dir: string
  let url: string
  let backend: Backend<unknown>
  let app: ReturnType<typeof liveApp>

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapide-cli-'))
    ;({ url, backend } = store.open(dir))
    app = liveApp(backend)
  })

  afterEach(async () => {
    await app.close()
    await backend.close?.()
    rmSync(dir, { recursive: true, force: true })
  })

  it('ping answers reachable, with the backend and a round trip', async () => {
    const result = await runCli(['ping', url, '--json'])
    expect(result.code).toBe(0)
    expect(json(result)).toMatchObject({ url, backend: backend.name, reachable: true, samples: 3 })
    const human = await runCli(['ping', url])
    expect(human.stdout).toMatch(
      new RegExp(`^reachable ${url} \\(${backend.name}, shared, persistent\\): round trip`),
    )
  })

  it('stats counts per domain and function, and the dead results of an invalidation', async () => {
    let stats = json<StatsJson>(await runCli(['stats', url, '--json']))
    expect(fnStats(stats, 'app', 'SHOP', 'GET_PRICE')).toMatchObject({
      results: 20,
      dead: 0,
      resultGenerations: 20,
    })
    expect(fnStats(stats, '', 'SHOP', 'GET_PRICE')).toMatchObject({ results: 20, dead: 0 })
    expect(fnStats(stats, 'app', 'USERS', 'USER')).toMatchObject({ results: 5, dead: 0 })
    expect(stats.domains.find((d) => d.keyPrefix === 'app' && d.domain === 'SHOP')?.keyValue.entries).toBe(1)

    app.shop.invalidateFunc('GET_STOCK')
    app.stock('A-1')
    stats = json<StatsJson>(await runCli(['stats', url, '--json', '--domain', 'SHOP', '--prefix', 'app']))
    expect(stats.domains.map((d) => `${d.keyPrefix}|${d.domain}`)).toEqual(['app|SHOP'])
    const stock = fnStats(stats, 'app', 'SHOP', 'GET_STOCK')!
    // The backend may already have reclaimed some; the recomputed one is live.
    expect(stock.results - stock.dead).toBe(1)
    expect(fnStats(stats, 'app', 'SHOP', 'GET_PRICE')).toMatchObject({ results: 20, dead: 0 })

    const table = await runCli(['stats', url, '--domain', 'SHOP', '--prefix', 'app'])
    expect(table.code).toBe(0)
    const lines = table.stdout.split('\n')
    expect(lines[0]).toMatch(new RegExp(`^${url}: \\d+ keys, `))
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^PREFIX\s+DOMAIN\s+FUNCTION\s+VERSION\s+ENTRIES\s+DEAD\s+GENERATIONS\s+OTHER\s+BYTES$/,
      ),
    )
    expect(lines).toContainEqual(
      expect.stringMatching(/^app\s+SHOP\s+GET_PRICE\s+1\s+20\s+0\s+20\s+1\s+[\d.]+ (B|KiB)$/),
    )
    expect(lines).toContainEqual(expect.stringMatching(/^app\s+SHOP\s+\(key-value\)\s+1\s/))
  })

  it('keys lists keys read back, filters by glob and domain, and prints raw keys', async () => {
    const table = await runCli(['keys', url, '--domain', 'SHOP', '--prefix', 'app', '*GET_PRICE*A-1[0-9]*'])
    expect(table.code).toBe(0)
    const lines = table.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^PREFIX\s+DOMAIN\s+KIND\s+FUNCTION\s+VERSION\s+ARGUMENTS \/ NAME$/)
    // A-10 … A-19: a result and its generation each.
    expect(lines.slice(1)).toHaveLength(20)
    expect(lines).toContainEqual(expect.stringMatching(/^app\s+SHOP\s+result\s+GET_PRICE\s+1\s+sA-12$/))
    expect(lines).toContainEqual(
      expect.stringMatching(/^app\s+SHOP\s+result-generation\s+GET_PRICE\s+1\s+sA-12$/),
    )

    const raw = await runCli(['keys', url, '--raw', '--prefix', 'app', '--domain', 'SHOP', '*:k:*'])
    expect(raw.stdout).toBe('app|SHOP:k:1:cart:42\n')

    const limited = json<{ keys: { key: string; kind: string }[]; truncated: boolean }>(
      await runCli(['keys', url, '--json', '--limit', '3']),
    )
    expect(limited.keys).toHaveLength(3)
    expect(limited.truncated).toBe(true)
    const everything = json<{ keys: { domain: string }[]; truncated: boolean }>(
      await runCli(['keys', url, '--json', '--limit', '0', '--domain', 'USERS', '--prefix', 'app']),
    )
    expect(everything.truncated).toBe(false)
    expect(everything.keys.every((k) => k.domain === 'USERS')).toBe(true)
    expect(everything.keys.length).toBe(5 * 2 + 2)
  })

  it('get shows one entry, live or dead, and exits 3 when the key holds nothing', async () => {
    const key = 'app|SHOP:r:{GET_PRICE:1:sA-3}'
    const found = json<Record<string, unknown>>(await runCli(['get', url, key, '--json']))
    expect(found).toMatchObject({
      key,
      described: {
        kind: 'result',
        domain: 'SHOP',
        keyPrefix: 'app',
        functionKey: 'GET_PRICE',
        argumentKey: 'sA-3',
      },
      entry: { kind: 'result', serializer: 'v8' },
      live: true,
      value: { sku: 'A-3', price: 30 },
    })
    const human = await runCli(['get', url, key])
    expect(human.stdout).toMatch(/^key\s+app\|SHOP:r:\{GET_PRICE:1:sA-3\}$/m)
    expect(human.stdout).toMatch(/^state\s+live$/m)
    expect(human.stdout).toContain("{ sku: 'A-3', price: 30 }")

    app.shop.invalidateFunc('GET_PRICE')
    // Dead: still there, or already reclaimed by the backend (SQLite removes a dead prefix at once).
    const dead = await runCli(['get', url, key, '--json'])
    if (dead.code === 0) expect(json(dead)).toMatchObject({ live: false })
    else expect(dead.code).toBe(3)

    const missing = await runCli(['get', url, 'app|SHOP:r:{GET_PRICE:1:nothing}'])
    expect(missing.code).toBe(3)
    expect(missing.stdout).toBe('')
    expect(missing.stderr).toContain('not found')
  })

  it('invalidate asks first: without a terminal or --yes it refuses (exit 4) and changes nothing', async () => {
    const refused = await runCli(['invalidate', url, '--domain', 'SHOP', '--prefix', 'app'])
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain('no terminal to confirm in. Pass --yes')
    const before = app.computed.price
    app.price('A-1')
    expect(app.computed.price).toBe(before)
  })

  it('invalidate --yes makes the running app recompute: the whole domain, or one function', async () => {
    const fn = await runCli([
      'invalidate',
      url,
      '--domain',
      'SHOP',
      '--prefix',
      'app',
      '--function',
      'GET_STOCK',
      '--yes',
      '--json',
    ])
    expect(fn.code).toBe(0)
    expect(json(fn)).toMatchObject({
      invalidated: 'function',
      domain: 'SHOP',
      keyPrefix: 'app',
      functionKey: 'GET_STOCK',
    })
    const { computed } = app
    const price = computed.price
    const stock = computed.stock
    app.price('A-1')
    app.stock('A-1')
    expect([computed.price, computed.stock]).toEqual([price, stock + 1])

    const domain = await runCli(['invalidate', url, '-d', 'SHOP', '-p', 'app', '-y'])
    expect(domain.code).toBe(0)
    expect(domain.stdout).toMatch(/^Invalidated every cached result of domain SHOP, key prefix "app" on /)
    app.price('A-1')
    app.barePrice('A-1')
    app.user(1)
    expect(computed.price).toBe(price + 1)
    // Same domain name under no prefix, and another domain: untouched.
    expect([computed.bare, computed.users]).toEqual([20, 5])
  })

  it('clear removes everything of the domain and nothing of other domains or prefixes', async () => {
    const before = json<{ keys: unknown[] }>(await runCli(['keys', url, '--json', '--limit', '0'])).keys
      .length
    const ofShop = json<{ keys: unknown[] }>(
      await runCli(['keys', url, '--json', '--limit', '0', '-d', 'SHOP', '-p', 'app']),
    ).keys.length
    const cleared = await runCli(['clear', url, '--domain', 'SHOP', '--prefix', 'app', '--yes', '--json'])
    expect(cleared.code).toBe(0)
    // Everything but the domain's generation and its two functions' (the tokens new results carry).
    expect(json(cleared)).toMatchObject({ domain: 'SHOP', keyPrefix: 'app', removed: ofShop - 3, kept: 3 })
    const left = await runCli(['keys', url, '--raw', '-d', 'SHOP', '-p', 'app'])
    expect(left.stdout.trim().split('\n').sort()).toEqual([
      'app|SHOP:{SHOP}:@g',
      'app|SHOP:{SHOP}:f:GET_PRICE:1:@g',
      'app|SHOP:{SHOP}:f:GET_STOCK:1:@g',
    ])
    const after = json<{ keys: { keyPrefix: string; domain: string }[] }>(
      await runCli(['keys', url, '--json', '--limit', '0']),
    ).keys
    expect(after).toHaveLength(before - ofShop + 3)

    const price = app.computed.price
    app.price('A-1')
    expect(app.computed.price).toBe(price + 1)
    expect(app.shop.get('cart:42')).toBeUndefined()
    app.barePrice('A-1')
    app.user(1)
    expect([app.computed.bare, app.computed.users]).toEqual([20, 5])
  })

  it('clear without --yes and without a terminal refuses (exit 4)', async () => {
    const refused = await runCli(['clear', url, '--domain', 'SHOP', '--prefix', 'app'], { input: 'y\n' })
    expect(refused.code).toBe(4)
    expect(refused.stdout).toBe('')
    expect(app.shop.get('cart:42')).toEqual([1, 2, 3])
  })
})

describe('usage errors and refusals', () => {
  it('mem:// is refused (exit 5) with the reason, but ping accepts it', async () => {
    const refused = await runCli(['stats', 'mem://'])
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain('a memory store lives inside the application that created it')
    expect((await runCli(['ping', 'mem://'])).code).toBe(0)
  })

  it('bad arguments and URLs are usage errors (exit 2)', async () => {
    expect((await runCli(['stats'])).code).toBe(2)
    expect((await runCli(['nonsense'])).code).toBe(2)
    expect((await runCli(['keys', 'sqlite:///tmp/x.db', '--limit', 'many'])).code).toBe(2)
    expect((await runCli(['invalidate', 'sqlite:///tmp/x.db'])).code).toBe(2)
    const scheme = await runCli(['stats', 'ftp://host/x'])
    expect(scheme.code).toBe(2)
    expect(scheme.stderr).toContain('Unknown backend URL scheme "ftp:"')
    const glob = await runCli(['keys', 'sqlite:///tmp/x.db', '[z-a]'])
    expect(glob.code).toBe(2)
  })

  it('--help answers 0 with examples and the exit codes', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Exit codes:')
    const clear = await runCli(['clear', '--help'])
    expect(clear.stdout).toContain('rapide clear sqlite:///var/cache/app.db --domain SHOP')
  })

  it('never prints a URL password', async () => {
    const result = await runCli(['ping', 'redis://admin:s3cret-pw@127.0.0.1:1/0', '--json'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('redis://admin:***@127.0.0.1:1/0')
    expect(result.stdout + result.stderr).not.toContain('s3cret-pw')
  })
})
