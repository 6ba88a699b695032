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
 * Formats a README with the repository's formatter (Biome aligns the tables), so a run leaves it as
 * `pnpm lint` wants it. `root` is the repository (where Biome is installed), by default the README's
 * folder. Returns false (and the caller says to run `pnpm format`) when that fails.
 */
export function formatReadme(path: string, root = dirname(path)): boolean {
  const biome = join(root, 'node_modules', '.bin', 'biome')
  try {
    execFileSync(biome, ['format', '--write', path], { stdio: 'ignore', cwd: root })
    return true
  } catch {
    return false
  }
}
