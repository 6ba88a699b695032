import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// `@opentelemetry/api` is an optional peer dependency: the main entry must never load it, so an
// application without it installed pays nothing and breaks nothing. Checked on the import graph of the
// sources and, when built, of the published files.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Every bare specifier (a package) the module graph from `entry` loads at run time. */
function packagesLoadedFrom(entry: string, extension: '.ts' | '.js'): Set<string> {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    // Static imports and re-exports, without type-only ones (erased at build), and dynamic imports.
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
      ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((match) => match[1] as string)
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier)
        visit(extension === '.ts' ? target.replace(/\.js$/, '.ts') : target)
      } else packages.add(specifier)
    }
  }
  visit(entry)
  return packages
}

const fromOpenTelemetry = (packages: Set<string>) =>
  [...packages].filter((p) => p.startsWith('@opentelemetry/'))

describe('without instrumentation, nothing of OpenTelemetry is loaded', () => {
  it('the sources: src/index.ts reaches no @opentelemetry package; src/opentelemetry/index.ts does', () => {
    expect(fromOpenTelemetry(packagesLoadedFrom(resolve(root, 'src/index.ts'), '.ts'))).toEqual([])
    // The walk does see such imports where they are (else the check above could not fail).
    expect(fromOpenTelemetry(packagesLoadedFrom(resolve(root, 'src/opentelemetry/index.ts'), '.ts'))).toEqual(
      ['@opentelemetry/api'],
    )
  })

  it.runIf(existsSync(resolve(root, 'dist/opentelemetry/index.js')))(
    'the build: dist/index.js reaches no @opentelemetry package; dist/opentelemetry/index.js does',
    () => {
      expect(fromOpenTelemetry(packagesLoadedFrom(resolve(root, 'dist/index.js'), '.js'))).toEqual([])
      expect(
        fromOpenTelemetry(packagesLoadedFrom(resolve(root, 'dist/opentelemetry/index.js'), '.js')),
      ).toEqual(['@opentelemetry/api'])
    },
  )

  it.runIf(existsSync(resolve(root, 'dist/opentelemetry/index.js')))(
    'the build, where @opentelemetry/api is not installed: the main entry loads, the subpath names what is missing',
    () => {
      // The published files alone in an application's node_modules, with no OpenTelemetry package.
      const app = mkdtempSync(join(tmpdir(), 'rapide-no-otel-'))
      try {
        const installed = join(app, 'node_modules', '@rapide', 'core')
        mkdirSync(installed, { recursive: true })
        cpSync(resolve(root, 'dist'), join(installed, 'dist'), { recursive: true })
        cpSync(resolve(root, 'package.json'), join(installed, 'package.json'))
        const run = (code: string) =>
          execFileSync(process.execPath, ['--input-type=module', '-e', code], {
            cwd: app,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        expect(
          run("const core = await import('@rapide/core'); console.log(typeof core.createCache)").trim(),
        ).toBe('function')
        expect(
          run(
            "try { await import('@rapide/core/opentelemetry'); console.log('loaded') } catch (e) { console.log(e.code, e.message) }",
          ),
        ).toMatch(/^ERR_MODULE_NOT_FOUND .*'@opentelemetry\/api'/)
      } finally {
        rmSync(app, { recursive: true, force: true })
      }
    },
  )

  it('the package: an optional peer dependency, with its own entry point', () => {
    const manifest = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'))
    expect(manifest.dependencies?.['@opentelemetry/api']).toBeUndefined()
    expect(manifest.peerDependencies['@opentelemetry/api']).toMatch(/^\^1\./)
    expect(manifest.peerDependenciesMeta['@opentelemetry/api']).toEqual({ optional: true })
    expect(manifest.exports['./opentelemetry']).toEqual({
      types: './dist/opentelemetry/index.d.ts',
      default: './dist/opentelemetry/index.js',
    })
  })
})
