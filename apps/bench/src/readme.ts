import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * Puts fresh results into the root README, between `<!-- bench:{name} -->` and `<!-- /bench:{name} -->`,
 * so the tables users read are the ones the last full run produced. Returns false when the README has
 * no such markers (the text is then left alone).
 */
export function updateReadme(path: string, name: string, content: string): boolean {
  if (!existsSync(path)) return false
  const text = readFileSync(path, 'utf8')
  const open = `<!-- bench:${name} -->`
  const close = `<!-- /bench:${name} -->`
  const start = text.indexOf(open)
  const end = text.indexOf(close)
  if (start < 0 || end < start) return false
  writeFileSync(path, `${text.slice(0, start + open.length)}\n${content.trim()}\n${text.slice(end)}`)
  return true
}

/**
 * Formats the README with the repository's formatter (Biome aligns the tables), so a run leaves it as
 * `pnpm lint` wants it. Returns false (and the caller says to run `pnpm format`) when that fails.
 */
export function formatReadme(path: string): boolean {
  const biome = join(dirname(path), 'node_modules', '.bin', 'biome')
  try {
    execFileSync(biome, ['format', '--write', path], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
