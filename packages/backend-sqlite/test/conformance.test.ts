import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runBackendConformance } from '@rapide/conformance'
import { afterAll } from 'vitest'
import { SqliteBackend } from '../src/index.js'

const directory = mkdtempSync(join(tmpdir(), 'rapide-sqlite-conformance-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

// Every instance opens its own connection to one file: what several processes on a machine do.
const path = join(directory, 'cache.sqlite')

runBackendConformance({
  name: 'sqlite (file)',
  create: () => new SqliteBackend({ path }),
  settle: (backend) => {
    backend.sweep()
  },
})

runBackendConformance({
  name: 'sqlite (:memory:)',
  create: () => new SqliteBackend({ path: ':memory:' }),
  settle: (backend) => {
    backend.sweep()
  },
})
