import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runBackendConformance } from '@rapide/conformance'
import { afterAll } from 'vitest'
import { DiskBackend } from '../src/index.js'

const directory = mkdtempSync(join(tmpdir(), 'rapide-disk-conformance-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

// Every instance works on one directory: what several processes on a machine do.
runBackendConformance({
  name: 'disk',
  create: () => new DiskBackend({ directory: join(directory, 'cache') }),
  settle: (backend) => {
    backend.prune()
  },
})
