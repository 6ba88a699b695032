import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'

/** Builds the CLI once before the tests, so they run what `npx @rapide/cli` would run. */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: 'inherit',
  })
}
