import { resolve } from 'node:path'
import { checkOptions, InvalidOptionError, parseTtl, type Ttl } from '@rapide/core'
import { defaultDirectory } from './default-directory.js'

/** What the backend reports when it finds a damaged group file (and removes it). */
export interface CorruptFileReport {
  /** The group file. */
  readonly file: string
  /** What was wrong: `'checksum mismatch'`, `'truncated'`, `'holds another group …'`… */
  readonly reason: string
}

/** Options of {@link DiskBackend}. */
export interface DiskBackendOptions {
  /**
   * The cache directory; created when missing. It must be empty or a rapide disk cache already (it holds
   * `rapide-disk.json`): any other directory is refused, so a typo never mixes the cache with your files.
   * Default: {@link defaultDirectory} (`$RAPIDE_DISK_DIR`, else `./node_modules/.cache/rapide/disk`).
   */
  directory?: string
  /**
   * Evict once the group files take more bytes than this, oldest modified first (see the README). Checked
   * by `prune()`, which runs when this process has written a tenth of the bound since its last count.
   * Default: no bound.
   */
  maxBytes?: number
  /**
   * A lock file older than this is broken, so a holder that crashed cannot block a group forever (a
   * holder known to have ended, on this host, is broken at once). Seconds or a duration string; default `'10s'`.
   */
  lockTimeout?: Ttl
  /** How long a write waits for another process's lock on its group before failing. Default `'2s'`. */
  busyTimeout?: Ttl
  /**
   * How often this process runs `prune()` in the background (in short steps), `false` for never. Default `'10m'`.
   */
  pruneInterval?: Ttl | false
  /**
   * Told of each damaged group file found (then removed, and the read is a miss). Default: a process
   * warning with code `RAPIDE_DISK_CORRUPT`.
   */
  onCorruptFile?: (report: CorruptFileReport) => void
  /**
   * How many hot group files (a domain's generations, hot results) this instance keeps open and in memory,
   * so that reading one again costs one `stat` instead of open, read and close; `0` turns this off. Each
   * costs a file descriptor and at most 64 KiB. Default `1024` (`0` on Windows, where a file held open
   * cannot be replaced by a rename at once).
   */
  openFiles?: number
}

/** The options checked, with their defaults applied and durations in milliseconds. */
export interface DiskSettings {
  /** Absolute. */
  readonly directory: string
  readonly maxBytes: number | undefined
  readonly lockTimeoutMs: number
  readonly busyTimeoutMs: number
  readonly pruneIntervalMs: number | undefined
  readonly onCorruptFile: (report: CorruptFileReport) => void
  readonly openFiles: number
}

const OPTION_NAMES: readonly (keyof DiskBackendOptions)[] = [
  'directory',
  'maxBytes',
  'lockTimeout',
  'busyTimeout',
  'pruneInterval',
  'onCorruptFile',
  'openFiles',
]

/** Checks every option before anything is created on disk. */
export function resolveOptions(options: DiskBackendOptions): DiskSettings {
  checkOptions(options, OPTION_NAMES, 'new DiskBackend()')
  const { directory, maxBytes, onCorruptFile } = options
  if (
    directory !== undefined &&
    (typeof directory !== 'string' || directory === '' || directory.includes('\0'))
  ) {
    throw new InvalidOptionError('DiskBackend: directory must be a non-empty path')
  }
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)) {
    throw new InvalidOptionError(`DiskBackend: maxBytes must be a positive integer, got ${String(maxBytes)}`)
  }
  if (onCorruptFile !== undefined && typeof onCorruptFile !== 'function') {
    throw new InvalidOptionError('DiskBackend: onCorruptFile must be a function')
  }
  const { openFiles = process.platform === 'win32' ? 0 : 1024 } = options
  if (!Number.isSafeInteger(openFiles) || openFiles < 0) {
    throw new InvalidOptionError(
      `DiskBackend: openFiles must be 0 or a positive integer, got ${String(openFiles)}`,
    )
  }
  const interval = options.pruneInterval ?? '10m'
  return {
    // Absolute once and for all: a later process.chdir() must not move the cache.
    directory: resolve(directory ?? defaultDirectory()),
    maxBytes,
    lockTimeoutMs: parseTtl(options.lockTimeout ?? '10s', 'DiskBackend lockTimeout'),
    busyTimeoutMs: parseTtl(options.busyTimeout ?? '2s', 'DiskBackend busyTimeout'),
    pruneIntervalMs: interval === false ? undefined : parseTtl(interval, 'DiskBackend pruneInterval'),
    onCorruptFile: onCorruptFile ?? warnCorrupt,
    openFiles,
  }
}

function warnCorrupt({ file, reason }: CorruptFileReport): void {
  process.emitWarning(`rapide disk: removed a damaged cache file (${reason}): ${file}`, {
    code: 'RAPIDE_DISK_CORRUPT',
  })
}
