import { confirm } from '../confirm.js'
import { type DomainTarget, invalidateThroughCache } from '../domain-cache.js'
import { ExitCode } from '../exit-codes.js'
import { openStore } from '../open-store.js'
import { describeScope } from '../scope.js'
import type { Terminal } from '../terminal.js'

export interface InvalidateOptions extends DomainTarget {
  readonly function?: string
  readonly yes?: boolean
  readonly json?: boolean
}

/** `rapide invalidate <url> --domain D [--function F]`: every result of a domain or function becomes a miss, at once. */
export async function invalidate(
  url: string,
  options: InvalidateOptions,
  terminal: Terminal,
): Promise<ExitCode> {
  const store = openStore(url)
  try {
    const what =
      options.function === undefined
        ? `every cached result of ${describeScope({ domain: options.domain, prefix: options.prefix })}`
        : `every cached result of ${options.function}${options.version === undefined ? '' : ` version ${options.version}`} in ${describeScope({ domain: options.domain, prefix: options.prefix })}`
    await confirm(terminal, `Invalidate ${what} on ${store.label}?`, options.yes === true)
    await invalidateThroughCache(store.backend, options, options.function)
    if (options.json) {
      terminal.out(
        JSON.stringify({
          url: store.label,
          invalidated: options.function === undefined ? 'domain' : 'function',
          domain: options.domain,
          keyPrefix: options.prefix ?? '',
          ...(options.function === undefined ? {} : { functionKey: options.function }),
          ...(options.version === undefined ? {} : { version: options.version }),
        }),
      )
    } else {
      terminal.out(
        `${terminal.color.green('Invalidated')} ${what} on ${store.label}: every app sharing the store recomputes on its next call.`,
      )
    }
    return ExitCode.ok
  } finally {
    await store.close()
  }
}
