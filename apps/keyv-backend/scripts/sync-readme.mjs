// Rewrites every ```ts <file>#<region> block of README.md with that region of the source as it is now,
// after a change to the code (test/readme.test.ts fails until the README shows the code again).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const readmePath = join(root, 'README.md')

function region(file, name) {
  const source = readFileSync(join(root, file), 'utf8')
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const found = new RegExp(
    `^[ \\t]*// #region ${escaped}\\n([\\s\\S]*?)^[ \\t]*// #endregion ${escaped}\\n`,
    'm',
  ).exec(source)
  if (!found) throw new Error(`${file} has no region "${name}"`)
  return found[1]
}

const readme = readFileSync(readmePath, 'utf8').replace(
  /^```ts (\S+)#(\S+)\n[\s\S]*?^```$/gm,
  (_, file, name) => `\`\`\`ts ${file}#${name}\n${region(file, name)}\`\`\``,
)
writeFileSync(readmePath, readme)
