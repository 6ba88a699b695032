import { createHash } from 'node:crypto'
import { join } from 'node:path'

/** Group file paths kept per instance, so a hot group (a domain's generations) is hashed once. */
const REMEMBERED_PATHS = 4096
/** Groups longer than this are hashed on each use instead of kept. */
const REMEMBERED_GROUP_LENGTH = 256

/** The 256 subdirectories group files are spread over: `00` … `ff`. */
export const FAN_OUT = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Suffix of a group's lock file. */
export const LOCK_SUFFIX = '.lock'
/** Suffix of a file being written (renamed into place when complete). */
export const TEMP_SUFFIX = '.tmp'
/** A group file's name: 64 hex digits, nothing else. */
export const GROUP_FILE_NAME = /^[0-9a-f]{64}$/

/**
 * Where a group's file lives: `<directory>/<first two hex digits>/<hex SHA-256 of the group id>`. The
 * name comes from a hash, never from the key, so no key (`../`, an absolute path, NUL, 10 kB, Unicode
 * look-alikes) reaches the file system; the 256 subdirectories keep each directory small.
 */
export class GroupPaths {
  private readonly remembered = new Map<string, string>()

  constructor(readonly directory: string) {}

  /** The file of `group`. */
  fileOf(group: string): string {
    let path = this.remembered.get(group)
    if (path === undefined) {
      const hex = createHash('sha256').update(group, 'utf8').digest('hex')
      path = join(this.directory, hex.slice(0, 2), hex)
      // Dropped all at once when full: cheaper than an LRU, and refilled by the next reads. Long groups
      // (a 10 kB key) are not kept: the memory would be the keys'.
      if (group.length > REMEMBERED_GROUP_LENGTH) return path
      if (this.remembered.size >= REMEMBERED_PATHS) this.remembered.clear()
      this.remembered.set(group, path)
    }
    return path
  }

  /** The lock file of a group file. */
  lockOf(file: string): string {
    return file + LOCK_SUFFIX
  }

  /** A temp file name unique to this process and write: `<file>.<pid>.<random>.tmp`. */
  tempOf(file: string): string {
    return `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}${TEMP_SUFFIX}`
  }
}
