import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

/** A fresh temporary folder per test file, removed at the end; `next()` names a new cache directory in it. */
export function scratch(name: string): { root: string; next: () => string } {
  const root = mkdtempSync(join(tmpdir(), `rapide-disk-${name}-`))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  let count = 0
  return { root, next: () => join(root, `cache-${++count}`) }
}

/** Every group file of a cache directory (paths), in its 256 subdirectories. */
export function groupFiles(directory: string): string[] {
  const files: string[] = []
  for (const sub of readdirSync(directory)) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue
    for (const name of readdirSync(join(directory, sub))) files.push(join(directory, sub, name))
  }
  return files
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
export const text = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : new TextDecoder().decode(value)
