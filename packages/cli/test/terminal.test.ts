import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache } from '@rapide/core'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN } from './support/run-cli.js'

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'])
    return true
  } catch {
    return false
  }
}

const available = hasTmux()
if (!available) {
  if (process.env.CI) throw new Error('tmux is not installed: under CI the terminal test may not be skipped')
  console.warn('SKIPPED the CLI terminal test: tmux is not installed (apt-get install tmux)')
}

const dir = mkdtempSync(join(tmpdir(), 'rapide-cli-tty-'))

/**
 * A tmux server of this test alone, set up from nothing the calling shell provides, so it runs the same
 * in a developer's terminal, inside their tmux, and under turbo's strict environment in CI (where only
 * a few variables pass: no TMUX_TMPDIR, maybe no TERM): its socket in the test's own directory (not
 * TMUX_TMPDIR or /tmp/tmux-UID, which may be shared or unsafe), no ~/.tmux.conf (`-f /dev/null`), and
 * the pane's shell and terminal named explicitly, whatever the user's login shell is.
 */
const socket = join(dir, 'tmux.sock')
const tmuxEnv: NodeJS.ProcessEnv = {
  ...process.env,
  TERM: 'xterm-256color',
  SHELL: '/bin/sh',
  TMUX: undefined,
  TMUX_PANE: undefined,
  NO_COLOR: undefined,
  FORCE_COLOR: undefined,
  RAPIDE_SIGN_KEY: undefined,
  RAPIDE_ACCEPT_KEYS: undefined,
}
const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: tmuxEnv })

/** A word for the pane's `sh -c` command line. */
const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`
/** The command line that runs this CLI with the node running the test (not whichever `node` is on the PATH). */
const rapide = (...args: string[]) => [process.execPath, BIN, ...args].map(quote).join(' ')

async function waitFor(session: string, what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${tmux('capture-pane', '-p', '-t', session)}`)
    await sleep(50)
  }
}

afterAll(() => {
  try {
    if (available) tmux('kill-server')
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!available)('rapide in a real terminal (tmux)', () => {
  it('clear asks, then shows its progress and what it removed', async () => {
    const path = join(dir, 'app.db')
    const backend = new SqliteBackend({ path })
    const cache = createCache({ domainKey: 'SHOP', backend })
    const price = cache.wrap('GET_PRICE', (sku: string) => sku.length)
    for (let i = 0; i < 100; i++) price(`A-${i}`)
    const value = Buffer.from('x')
    backend.setMany(
      Array.from({ length: 200_000 }, (_, i) => ({ key: `|SHOP:k:1:item-${i}`, value, ttlMs: undefined })),
    )

    const log = join(dir, 'pane.log')
    const command = `${rapide('clear', `sqlite://${path}`, '--domain', 'SHOP', '--batch', '500')}; echo "EXIT=$?"; sleep 60`
    tmux('new-session', '-d', '-s', 'cli', '-x', '160', '-y', '20', command)
    // Everything the pane shows, progress redraws included (they are erased from the screen at the end).
    tmux('pipe-pane', '-t', 'cli', '-o', `cat >> ${quote(log)}`)
    const screen = () => tmux('capture-pane', '-p', '-t', 'cli')
    await waitFor('cli', 'the prompt', () => screen().includes('[y/N]'))
    expect(screen()).toContain(`Remove everything domain SHOP stores on sqlite://${path}`)
    tmux('send-keys', '-t', 'cli', 'y', 'Enter')
    await waitFor('cli', 'the end', () => screen().includes('EXIT='))
    const shown = screen()
    expect(shown).toMatch(
      /Cleared domain SHOP on sqlite:\/\/.*: 200,200 keys removed in .* \(2 generation tokens kept\)/,
    )
    expect(shown).toContain('EXIT=0')
    const output = readFileSync(log, 'utf8')
    // The progress line: count, total, percentage, rate.
    expect(output).toMatch(/clearing SHOP.* [\d,]+ \/ 200,202 keys \(\d+(\.\d)?%\)/)
    expect(output).toMatch(/keys\/s/)
    // Colours on a terminal.
    expect(output).toContain('\u001b[32mCleared')
    expect(price('A-1')).toBe(3)
    await cache.close()
    backend.close()
  })

  it('a declined prompt changes nothing and exits 4', async () => {
    const path = join(dir, 'keep.db')
    const backend = new SqliteBackend({ path })
    const cache = createCache({ domainKey: 'SHOP', backend })
    cache.set('cart', 1)
    tmux(
      'new-session',
      '-d',
      '-s',
      'no',
      '-x',
      '160',
      '-y',
      '20',
      `${rapide('clear', `sqlite://${path}`, '-d', 'SHOP')}; echo "EXIT=$?"; sleep 60`,
    )
    const screen = () => tmux('capture-pane', '-p', '-t', 'no')
    await waitFor('no', 'the prompt', () => screen().includes('[y/N]'))
    tmux('send-keys', '-t', 'no', 'n', 'Enter')
    await waitFor('no', 'the end', () => screen().includes('EXIT='))
    expect(screen()).toContain('Aborted: nothing was changed.')
    expect(screen()).toContain('EXIT=4')
    expect(cache.get('cart')).toBe(1)
    await cache.close()
    backend.close()
  })
})
