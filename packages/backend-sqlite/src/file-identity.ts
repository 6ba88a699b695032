import { realpathSync, rmSync, statSync } from 'node:fs'
import { resolve } from 'node:path'

/** What {@link identity} says of a path that names no file. */
export const MISSING = 'missing'

/**
 * The device and inode `path` names, {@link MISSING}, or `undefined` when it cannot be told (no
 * permission). Two equal identities are one file, whatever happened to the path in between.
 */
export function identity(path: string): string | undefined {
  try {
    const stats = statSync(path)
    return `${stats.dev}:${stats.ino}`
  } catch (error) {
    const code = (error as { code?: unknown }).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? MISSING : undefined
  }
}

/** The absolute path of the database file, through symbolic links when it exists. */
export function resolvedFile(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

/**
 * Deletes a corrupt database, only if `path` still names the file we opened: another process may have
 * rebuilt it already, and its new file must stay (it is checked again right before each step, which
 * narrows the race to a few system calls). The journal files go first and the database last, so a
 * process opening `path` meanwhile finds the old database (corrupt: it rebuilds too) or none, rather than
 * a new database beside the old write-ahead log. Processes still using the old file notice it is gone
 * within their `fileCheckInterval` and reopen.
 */
export function removeDatabaseFiles(path: string, opened: string | undefined): void {
  if (opened === undefined || opened === MISSING) return
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (identity(path) !== opened) return
    rmSync(path + suffix, { force: true })
  }
  if (identity(path) === opened) rmSync(path, { force: true })
}
