import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { json, runCli } from './support/run-cli.js'

describe('options in the URL reach the backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapide-cli-url-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('sqlite:…?table= reads the table the app writes to, and only it', async () => {
    const path = join(dir, 'tables.db')
    const backend = new SqliteBackend({ path, table: 'app_cache' })
    const cache = createCache({ domainKey: 'SHOP', backend })
    cache.wrap('GET_PRICE', (sku: string) => ({ sku }))('A-1')
    const key = '|SHOP:r:{GET_PRICE:1:sA-1}'
    try {
      const found = await runCli(['get', `sqlite://${path}?table=app_cache`, key, '--json'])
      expect(found.code, found.stderr).toBe(0)
      expect(json(found)).toMatchObject({ live: true, value: { sku: 'A-1' } })
      const stats = json<{ domains: { domain: string; functions: { results: number }[] }[] }>(
        await runCli(['stats', `sqlite://${path}?table=app_cache`, '--json']),
      )
      expect(stats.domains).toEqual([
        expect.objectContaining({ domain: 'SHOP', functions: [expect.objectContaining({ results: 1 })] }),
      ])
      // The default table of the same file holds nothing of the app's.
      expect((await runCli(['get', `sqlite://${path}`, key])).code).toBe(3)
    } finally {
      await cache.close()
      backend.close()
    }
  })

  it('a misspelt or ill-typed option is a usage error (exit 2) with the backend’s typed message', async () => {
    const path = join(dir, 'typo.db')
    const sqlite = await runCli(['stats', `sqlite://${path}?tabel=app_cache`])
    expect(sqlite.code).toBe(2)
    expect(sqlite.stderr).toContain('unknown option "tabel" (did you mean "table"?)')
    const disk = await runCli(['stats', `disk://${join(dir, 'cache')}?maxBytes=lots`])
    expect(disk.code).toBe(2)
    expect(disk.stderr).toContain('"maxBytes" must be a whole number, got "lots"')
    const memory = await runCli(['ping', 'mem://?maxEntries=-1&maxEntries=2'])
    expect(memory.code).toBe(2)
    expect(memory.stderr).toContain('rapide: mem: URL: option "maxEntries" is given 2 times')
  })

  it('a URL with a password and a bad option: exit 2, the password never shown', async () => {
    for (const url of [
      'redis://admin:s3cret-pw@127.0.0.1:1/0?timout=5',
      'rediss://admin:s3cret-pw@127.0.0.1:1/0?circuitBreaker=maybe',
      'redis+cluster://admin:s3cret-pw@127.0.0.1:1,127.0.0.1:2?tiemout=1',
    ]) {
      for (const command of ['ping', 'stats']) {
        const result = await runCli([command, url])
        expect(result.code, `${command} ${url}: ${result.stderr}`).toBe(2)
        expect(result.stderr).toMatch(
          /^rapide: rediss?(\+cluster)?: URL: (unknown option|option "circuitBreaker")/,
        )
        expect(result.stdout + result.stderr).not.toContain('s3cret-pw')
      }
    }
  })
})

describe('a store that does not exist is not created', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapide-cli-missing-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a SQLite path with a typo: exit 1, saying so, and no file left behind', async () => {
    const path = join(dir, 'typo', 'cahce.db')
    for (const args of [['stats'], ['keys'], ['ping'], ['clear', '--domain', 'SHOP', '--yes']]) {
      const [command, ...rest] = args as [string, ...string[]]
      const result = await runCli([command, `sqlite://${path}`, ...rest])
      expect(result.code, `${command}: ${result.stderr}`).toBe(1)
      expect(result.stderr).toContain(`there is no SQLite file at ${path}`)
    }
    expect(existsSync(path)).toBe(false)
    expect(existsSync(join(dir, 'typo'))).toBe(false)
  })

  it('a disk directory that is not a cache: exit 1, and nothing created in it', async () => {
    const directory = join(dir, 'not-a-cache')
    const result = await runCli(['stats', `disk://${directory}`])
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr).toContain('is not a rapide disk cache')
    expect(existsSync(directory)).toBe(false)
  })

  it('a private in-memory SQLite database is refused like mem:// (exit 5)', async () => {
    const result = await runCli(['stats', 'sqlite::memory:'])
    expect(result.code).toBe(5)
    expect((await runCli(['ping', 'sqlite::memory:'])).code).toBe(0)
  })
})
