import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiskBackend } from '@rapide/backend-disk'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { type Backend, createCache } from '@rapide/core'
import { afterEach, describe, expect, it } from 'vitest'
import { json, runCli } from './support/run-cli.js'

/**
 * `clear` over many keys: results written by a real cache, the bulk added in one batch under the
 * domain's key-value namespace (as `cache.set` would name them) so the test stays fast. Disk removes one
 * file per key group, so it gets fewer keys.
 */
describe.each([
  {
    name: 'SQLite',
    keys: 100_000,
    open: (dir: string) => ({
      url: `sqlite://${join(dir, 'big.db')}`,
      backend: new SqliteBackend({ path: join(dir, 'big.db') }) as Backend<unknown>,
    }),
  },
  {
    name: 'disk',
    keys: 20_000,
    open: (dir: string) => ({
      url: `disk://${join(dir, 'big')}`,
      backend: new DiskBackend({ directory: join(dir, 'big') }) as Backend<unknown>,
    }),
  },
])('rapide clear on a $name store of $keys keys', ({ keys, open }) => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  it('removes them all in batches, and leaves the other domain alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapide-cli-big-'))
    dirs.push(dir)
    const { url, backend } = open(dir)
    const cache = createCache({ domainKey: 'BIG', backend })
    const other = createCache({ domainKey: 'KEEP', backend })
    const square = cache.wrap('SQUARE', (n: number) => n * n)
    for (let i = 0; i < 1000; i++) square(i)
    other.set('kept', 1)
    const value = Buffer.from('x')
    const bulk = Array.from({ length: keys }, (_, i) => ({
      key: `|BIG:k:1:item-${i}`,
      value,
      ttlMs: undefined,
    }))
    for (let i = 0; i < bulk.length; i += 10_000) backend.setMany!(bulk.slice(i, i + 10_000))
    const cleared = await runCli(['clear', url, '--domain', 'BIG', '--yes', '--json'])
    expect(cleared.code, cleared.stderr).toBe(0)
    // The results, their generations and the bulk; the function and domain generations stay.
    expect(json(cleared)).toMatchObject({ removed: keys + 2000, kept: 2 })
    // No terminal: no progress noise on stderr.
    expect(cleared.stderr).toBe('')
    expect((await runCli(['keys', url, '--raw', '--domain', 'BIG'])).stdout.trim().split('\n')).toHaveLength(
      2,
    )
    expect(other.get('kept')).toBe(1)
    await cache.close()
    await other.close()
    await backend.close?.()
  })
})
