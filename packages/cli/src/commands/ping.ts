import { randomUUID } from 'node:crypto'
import { CliError, ExitCode } from '../exit-codes.js'
import { formatDuration } from '../format/units.js'
import { openStore } from '../open-store.js'
import type { Terminal } from '../terminal.js'

export interface PingOptions {
  readonly count: number
  readonly json?: boolean
}

/** `rapide ping <url>`: is the store there, and how long is a round trip. */
export async function ping(url: string, options: PingOptions, terminal: Terminal): Promise<ExitCode> {
  const store = openStore(url, { inProcess: true })
  const { backend } = store
  const samples: number[] = []
  try {
    // A read of a key nobody writes when the backend has no ping of its own (what `cache.ping()` does).
    const probe = `rapide-cli:ping:${randomUUID()}`
    for (let i = 0; i < options.count; i++) {
      const started = performance.now()
      let answered = true
      if (backend.ping === undefined) await backend.get(probe)
      else answered = await backend.ping()
      samples.push(performance.now() - started)
      if (answered === false)
        throw new CliError(`${store.label}: the ${backend.name} store does not answer`, ExitCode.failed)
    }
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(
      `${store.label}: unreachable (${error instanceof Error ? error.message : String(error)})`,
      ExitCode.failed,
    )
  } finally {
    await store.close()
  }
  const min = Math.min(...samples)
  const max = Math.max(...samples)
  const avg = samples.reduce((a, b) => a + b, 0) / samples.length
  const { capabilities } = backend
  if (options.json) {
    terminal.out(
      JSON.stringify({
        url: store.label,
        backend: backend.name,
        reachable: true,
        capabilities,
        roundTripMs: { min: round(min), avg: round(avg), max: round(max) },
        samples: samples.length,
      }),
    )
    return ExitCode.ok
  }
  const c = terminal.color
  const traits = [
    capabilities.shared ? 'shared' : 'one process',
    capabilities.persistent ? 'persistent' : 'in memory',
  ]
  terminal.out(
    `${c.green('reachable')} ${store.label} ${c.dim(`(${backend.name}, ${traits.join(', ')})`)}: round trip ${c.bold(formatDuration(avg))} ${c.dim(`(min ${formatDuration(min)}, max ${formatDuration(max)}, ${samples.length} samples)`)}`,
  )
  return ExitCode.ok
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
