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

/** A tmux server of this test alone (its own socket), so nothing else's sessions are touched. */
const socket = `rapide-cli-test-${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' })

async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${tmux('capture-pane', '-p', '-t', 'cli')}`)
    await sleep(50)
  }
}

describe.skipIf(!available)('rapide in a real terminal (tmux)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapide-cli-tty-'))
  afterAll(() => {
    try {
      tmux('kill-server')
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true })
  })

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
    const command = `env -u NO_COLOR -u FORCE_COLOR node ${BIN} clear sqlite://${path} --domain SHOP --batch 500; echo "EXIT=$?"; sleep 60`
    tmux('new-session', '-d', '-s', 'cli', '-x', '160', '-y', '20', command)
    // Everything the pane shows, progress redraws included (they are erased from the screen at the end).
    tmux('pipe-pane', '-t', 'cli', '-o', `cat >> ${log}`)
    const screen = () => tmux('capture-pane', '-p', '-t', 'cli')
    await waitFor('the prompt', () => screen().includes('[y/N]'))
    expect(screen()).toContain(`Remove everything domain SHOP stores on sqlite://${path}`)
    tmux('send-keys', '-t', 'cli', 'y', 'Enter')
    await waitFor('the end', () => screen().includes('EXIT='))
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
      `node ${BIN} clear sqlite://${path} -d SHOP; echo "EXIT=$?"; sleep 60`,
    )
    const screen = () => tmux('capture-pane', '-p', '-t', 'no')
    await waitFor('the prompt', () => screen().includes('[y/N]'))
    tmux('send-keys', '-t', 'no', 'n', 'Enter')
    await waitFor('the end', () => screen().includes('EXIT='))
    expect(screen()).toContain('Aborted: nothing was changed.')
    expect(screen()).toContain('EXIT=4')
    expect(cache.get('cart')).toBe(1)
    await cache.close()
    backend.close()
  })
})
