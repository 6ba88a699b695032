import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describeBackend } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { KeyvBackend } from '../src/index.js'

/**
 * The README is the tutorial, and its code is this package's code: every `ts` block names the file (and
 * region) it shows and must equal it, and every region of every file is shown, so neither can drift.
 */
const root = join(import.meta.dirname, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

/** The code blocks of the README: their info string (`ts src/file.ts#region`) and their text. */
function codeBlocks(markdown: string): { info: string; code: string }[] {
  const blocks: { info: string; code: string }[] = []
  const fence = /^```(.*)\n([\s\S]*?)^```$/gm
  for (const match of markdown.matchAll(fence)) blocks.push({ info: match[1]!.trim(), code: match[2]! })
  return blocks
}

/** The regions of a source file by name: the lines between `// #region name` and `// #endregion name`. */
function regions(file: string): Map<string, string> {
  const found = new Map<string, string>()
  const region = /^[ \t]*\/\/ #region (\S+)\n([\s\S]*?)^[ \t]*\/\/ #endregion \1\n/gm
  for (const match of readFileSync(join(root, file), 'utf8').matchAll(region)) found.set(match[1]!, match[2]!)
  return found
}

const sources = [
  ...readdirSync(join(root, 'src')).map((name) => `src/${name}`),
  'test/conformance.test.ts',
  'test/usage.test.ts',
]

describe('README', () => {
  it('every TypeScript block is a region of a source file, shown as it is', () => {
    const typescript = codeBlocks(readme).filter((block) => /^(ts|typescript)\b/.test(block.info))
    expect(typescript.length).toBeGreaterThan(10)
    for (const { info, code } of typescript) {
      const [, reference] = info.split(/\s+/)
      expect(reference, `a ts block without a source reference: ${code.slice(0, 60)}`).toBeDefined()
      const [file, name] = reference!.split('#')
      expect(
        regions(file!).get(name!),
        `${reference} in the README differs from the source (pnpm readme rewrites the blocks)`,
      ).toBe(code)
    }
  })

  it('every region of every source file is in the README, and every line of src/ is in a region', () => {
    for (const file of sources) {
      for (const name of regions(file).keys()) expect(readme).toContain(`\`\`\`ts ${file}#${name}\n`)
      if (!file.startsWith('src/')) continue
      const outside = readFileSync(join(root, file), 'utf8')
        .replace(/^[ \t]*\/\/ #region (\S+)\n[\s\S]*?^[ \t]*\/\/ #endregion \1\n/gm, '')
        .trim()
      expect(outside, `${file} has code outside its regions`).toBe('')
    }
  })

  it('the feature table is what describeBackend() says of the backend', () => {
    const expected = describeBackend(new KeyvBackend()).map((row) => [
      row.feature,
      row.status,
      row.needs.join(', ') || '—',
    ])
    const table = readme.split('<!-- features -->')[1]!.split('<!-- /features -->')[0]!
    const cells = table
      .trim()
      .split('\n')
      .slice(2) // the header and its rule
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      )
    expect(cells).toEqual(expected)
  })
})
