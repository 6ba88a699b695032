import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { clear } from './commands/clear.js'
import { get } from './commands/get.js'
import { invalidate } from './commands/invalidate.js'
import { keys } from './commands/keys.js'
import { ping } from './commands/ping.js'
import { stats } from './commands/stats.js'
import { CliError, ExitCode } from './exit-codes.js'
import { asCliError } from './open-store.js'
import { processTerminal, type Terminal } from './terminal.js'

const URL_HELP = `URLs:
  sqlite:///var/cache/app.db        a SQLite file shared with the app
  disk:///var/cache/app             a disk store's directory
  redis://user:pass@host:6379/0     Redis (rediss:// for TLS, redis+cluster://h1:p1,h2:p2 for a cluster)
  mem://                            ping only: a memory store lives inside its app`

const EXIT_HELP = `Exit codes:
  0  ok                      3  not found (get)
  1  the store failed        4  aborted (declined, or no terminal and no --yes)
  2  usage error             5  mem:// store (lives inside its app)`

function positiveInteger(text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more')
  return n
}

function batchSize(text: string): number {
  const n = positiveInteger(text)
  if (n === 0) throw new InvalidArgumentError('expected at least 1')
  return n
}

const jsonOption = () => new Option('--json', 'print JSON on stdout, for scripts')
const domainOption = (required: boolean) => {
  const option = new Option('-d, --domain <domain>', "the cache's domainKey")
  return required ? option.makeOptionMandatory() : option
}
const prefixOption = () => new Option('-p, --prefix <keyPrefix>', "the cache's keyPrefix (default: none)")

/** The `rapide` command line. Every action answers the exit code the process ends with. */
export function createProgram(terminal: Terminal, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('rapide')
    .description('Look inside a rapide cache store, and invalidate or clear it safely while apps run on it.')
    .addHelpText('after', `\n${URL_HELP}\n\n${EXIT_HELP}`)
    .showHelpAfterError('(rapide --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    })

  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<ExitCode>) =>
    async (...args: A) => {
      setExitCode(await action(...args))
    }

  program
    .command('ping')
    .description('check that the store answers, and how long a round trip takes')
    .argument('<url>', 'the store')
    .option('-n, --count <n>', 'round trips to time', batchSize, 3)
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nExamples:\n  rapide ping redis://127.0.0.1:6379\n  rapide ping sqlite:///var/cache/app.db --json',
    )
    .action(run((url: string, options) => ping(url, options, terminal)))

  program
    .command('stats')
    .description('what the store holds, per domain and function: entries, dead results, bookkeeping, bytes')
    .argument('<url>', 'the store')
    .addOption(domainOption(false))
    .addOption(prefixOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nExamples:\n  rapide stats sqlite:///var/cache/app.db\n  rapide stats redis://cache:6379 --domain SHOP --json',
    )
    .action(run((url: string, options) => stats(url, options, terminal)))

  program
    .command('keys')
    .description('list keys, read back into domain, kind, function and arguments')
    .argument('<url>', 'the store')
    .argument('[pattern]', 'a glob over the stored key (* ? [abc] [a-z] \\x), e.g. "*GET_PRICE*"')
    .addOption(domainOption(false))
    .addOption(prefixOption())
    .option('-l, --limit <n>', 'at most this many keys (0: all)', positiveInteger, 1000)
    .option('--raw', 'print the stored keys only, one per line')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nExamples:\n  rapide keys sqlite:///var/cache/app.db --domain SHOP\n  rapide keys redis://cache:6379 "*GET_PRICE*" --raw | head',
    )
    .action(run((url: string, pattern: string | undefined, options) => keys(url, pattern, options, terminal)))

  program
    .command('get')
    .description(
      'one entry: what the key is, its metadata (stored, compute time, live or dead) and its value',
    )
    .argument('<url>', 'the store')
    .argument('<key>', 'the stored key, as `rapide keys --raw` prints it')
    .addOption(
      new Option(
        '--sign-key <key>',
        "verify the entry's signature with the key the app signs with (sign.key); prefer the variable: a flag shows in ps",
      ).env('RAPIDE_SIGN_KEY'),
    )
    .addOption(
      new Option(
        '--accept-key <key>',
        'a key the app also accepts (sign.acceptedKeys), repeatable; else RAPIDE_ACCEPT_KEYS, comma-separated',
      )
        .argParser((key: string, previous: string[]) => [...previous, key])
        .default([], 'none'),
    )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `\nExamples:\n  rapide get sqlite:///var/cache/app.db '|SHOP:r:{GET_PRICE:1:sA-1}'\n  RAPIDE_SIGN_KEY="$CACHE_SIGNING_KEY" rapide get sqlite:///var/cache/app.db "$KEY"\n  rapide get redis://cache:6379 "$KEY" --json || [ $? -eq 3 ] && echo 'not cached'`,
    )
    .action(run((url: string, key: string, options) => get(url, key, options, terminal)))

  program
    .command('invalidate')
    .description('make every result of a domain (or of one function) a miss, at once and race-free')
    .argument('<url>', 'the store')
    .addOption(domainOption(true))
    .option('-f, --function <functionKey>', 'only this wrapped function')
    .addOption(prefixOption())
    .option('--version <version>', "the cache's (or the function's) version (default: 1)")
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nExamples:\n  rapide invalidate sqlite:///var/cache/app.db --domain SHOP\n  rapide invalidate redis://cache:6379 --domain SHOP --function GET_PRICE --yes',
    )
    .action(run((url: string, options) => invalidate(url, options, terminal)))

  program
    .command('clear')
    .description('remove everything a domain stores: invalidate it, then delete its keys in batches')
    .argument('<url>', 'the store')
    .addOption(domainOption(true))
    .addOption(prefixOption())
    .option('--batch <n>', 'keys deleted per round trip', batchSize, 1000)
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nExamples:\n  rapide clear sqlite:///var/cache/app.db --domain SHOP\n  rapide clear redis://cache:6379 --domain SHOP --prefix app --yes --json',
    )
    .action(run((url: string, options) => clear(url, options, terminal)))

  return program
}

/**
 * Runs the command line and answers the exit code, never throwing: errors are printed on stderr
 * (`rapide: …`), with the URL's password hidden.
 *
 * @example
 * process.exitCode = await run(process.argv)
 */
export async function run(
  argv: readonly string[],
  terminal: Terminal = processTerminal(),
): Promise<ExitCode> {
  let code: ExitCode = ExitCode.ok
  const program = createProgram(terminal, (exit) => {
    code = exit
  })
  try {
    await program.parseAsync([...argv])
    return code
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are answers, not errors; commander has already printed what went wrong.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    const failure = asCliError(error)
    terminal.err(`${terminal.errColor.red('rapide:')} ${failure.message}`)
    return failure.exitCode
  }
}

export { CliError }
