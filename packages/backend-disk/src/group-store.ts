import fs from 'node:fs'
import { dirname } from 'node:path'
import { BackendError, RapideError } from '@rapide/core'
import { makeSubdirectory } from './cache-directory.js'
import { codeOf, fileSystemError, isMissing } from './fs-errors.js'
import type { GroupLocks } from './group-lock.js'
import type { GroupPaths } from './group-paths.js'
import { NO_THROW, type OpenGroupFile, OpenGroupFiles } from './open-group-files.js'
import type { CorruptFileReport } from './options.js'
import { pause } from './pause.js'
import {
  decodeGroup,
  encodeGroup,
  findRecords,
  GroupFileDamage,
  type GroupRecords,
  indexGroup,
  type StoredRecord,
  verifyGroup,
} from './record-format.js'

/** A group file as read: its bytes, verified, with where its records start. */
export interface GroupFile {
  readonly bytes: Uint8Array
  readonly start: number
  readonly count: number
  /** Its records by key, for a file kept in memory (see {@link OpenGroupFiles}). */
  readonly index?: ReadonlyMap<string, StoredRecord>
}

/** Group files up to this size are read into one reused buffer (most are far smaller). */
const READ_BUFFER_BYTES = 64 * 1024

/** How many times a rename refused with `EPERM` / `EBUSY` is retried (Windows: a reader holds the target open). */
const RENAME_ATTEMPTS = 6

/**
 * Reads and rewrites group files. A read is one `readFileSync`, no lock: files are only ever replaced
 * whole by a rename, so a reader sees the old file or the new one. A rewrite takes the group's lock,
 * reads the file, changes the records, writes a unique temp file and renames it over the group file (or
 * removes the file when the group is empty). A damaged file is reported, removed (under the lock, if it
 * is still the damaged one) and read as empty.
 */
export class GroupStore {
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)

  /** Hot group files kept open; `undefined` when the read cache is off. */
  private readonly openFiles: OpenGroupFiles | undefined

  /** Told the size of every group file written (the byte bound's trigger). */
  onWrite: (bytes: number) => void = () => {}

  constructor(
    private readonly directory: string,
    private readonly paths: GroupPaths,
    private readonly locks: GroupLocks,
    private readonly reportCorrupt: (report: CorruptFileReport) => void,
    openFiles: number,
  ) {
    this.openFiles = openFiles > 0 ? new OpenGroupFiles(openFiles) : undefined
  }

  /**
   * The group's file, verified; `undefined` when absent or damaged (then reported and removed). The bytes
   * may be this instance's read buffer, valid until the next `read`, or a kept file's: values must be
   * copied out before the next read, and never changed. A hot file is answered from the read cache (see
   * {@link OpenGroupFiles}) after one `stat`.
   */
  read(group: string, operation: string): GroupFile | undefined {
    const file = this.paths.fileOf(group)
    let keep = false
    if (this.openFiles !== undefined) {
      let kept: OpenGroupFile | 'absent' | undefined
      try {
        kept = this.openFiles.lookup(group, file)
      } catch (error) {
        throw fileSystemError(operation, this.directory, error)
      }
      if (kept === 'absent') return undefined
      if (kept !== undefined) return kept
      keep = this.openFiles.admits(group)
    }
    let fd: number
    try {
      fd = fs.openSync(file, 'r')
    } catch (error) {
      if (isMissing(error)) return undefined
      throw fileSystemError(operation, this.directory, error)
    }
    let open = true
    try {
      const stats = keep ? fs.fstatSync(fd) : undefined
      const bytes = this.readWhole(fd)
      let verified: { start: number; count: number }
      try {
        verified = verifyGroup(bytes, group)
      } catch (error) {
        if (!(error instanceof GroupFileDamage)) throw error
        fs.closeSync(fd)
        open = false
        this.removeDamaged(group, file, operation)
        return undefined
      }
      if (
        stats === undefined ||
        stats.size !== bytes.length ||
        bytes.length > OpenGroupFiles.MAX_FILE_BYTES
      ) {
        return { bytes, ...verified }
      }
      // Copied (the read buffer is reused; `Buffer#slice` would not copy).
      const owned = Uint8Array.prototype.slice.call(bytes)
      let index: ReadonlyMap<string, StoredRecord>
      try {
        index = indexGroup(owned, verified.start, verified.count)
      } catch (error) {
        if (!(error instanceof GroupFileDamage)) throw error
        return { bytes, ...verified } // malformed inside a good checksum: find() reports and removes it
      }
      this.openFiles!.keep(group, {
        fd,
        dev: stats.dev,
        ino: stats.ino,
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        ctimeMs: stats.ctimeMs,
        bytes: owned,
        ...verified,
        index,
      })
      open = false // the read cache's now
      return { bytes: owned, ...verified, index }
    } catch (error) {
      throw RapideError.isInstance(error) ? error : fileSystemError(operation, this.directory, error)
    } finally {
      if (open) fs.closeSync(fd)
    }
  }

  /**
   * The records of `keys` in a file of `group` just read, one slot per key (`undefined` where absent);
   * values are views of the file's bytes, to copy before the next read. A file whose checksum holds but
   * whose records are malformed (made, not damaged, to look valid) is reported and removed, and read as empty.
   */
  find(
    group: string,
    file: GroupFile,
    keys: readonly string[],
    operation: string,
  ): (StoredRecord | undefined)[] {
    const { index } = file
    if (index !== undefined) return keys.map((key) => index.get(key))
    try {
      return findRecords(file.bytes, file.start, file.count, keys)
    } catch (error) {
      if (!(error instanceof GroupFileDamage)) throw error
      this.removeDamaged(group, this.paths.fileOf(group), operation)
      return new Array(keys.length).fill(undefined)
    }
  }

  /**
   * A whole open file in one read into a buffer kept for the next read (`readFileSync` would add an
   * `fstat` and a buffer per call). A group file is never written in place (it is replaced by a rename),
   * so the open descriptor sees one complete file, however long the read takes.
   */
  private readWhole(fd: number): Uint8Array {
    const buffer = this.buffer
    const length = fs.readSync(fd, buffer, 0, buffer.length, 0)
    if (length < buffer.length) return buffer.subarray(0, length)
    // Larger than the buffer: read it whole, into its own buffer.
    const size = fs.fstatSync(fd).size
    const whole = Buffer.allocUnsafe(size)
    let at = 0
    while (at < size) {
      const read = fs.readSync(fd, whole, at, size - at, at)
      if (read === 0) break
      at += read
    }
    return whole.subarray(0, at)
  }

  /** Closes the files kept open by the read cache. */
  close(): void {
    this.openFiles?.clear()
  }

  /**
   * Changes a group: `change` gets its records (empty when the file is absent or damaged) and the time,
   * changes them in place, and answers its result with whether it changed anything. It may be called
   * twice (see below), so it must act on the records only.
   *
   * A group with no file yet (a miss's new result) is created without a lock: its file is written and
   * linked into place, which fails if anyone created the file first (then the change is made again, under
   * the lock, over that file). Any other change takes the group's lock. Since an existing file is only
   * ever changed under its lock, and a missing one only ever created by a link that cannot overwrite, no
   * writer loses another's records: a lock holder that found no file links its own into place too.
   */
  mutate<T>(group: string, operation: string, change: (records: GroupRecords, now: number) => Changed<T>): T {
    const file = this.paths.fileOf(group)
    if (!this.exists(file, operation)) {
      const records: GroupRecords = new Map()
      const { result, changed } = change(records, Date.now())
      if (!changed || records.size === 0) return result
      if (this.createIfAbsent(group, file, records, operation)) return result
    }
    return this.locked(file, operation, (owned) => {
      for (;;) {
        const { records, existed } = this.readForWrite(group, file, operation)
        const { result, changed } = change(records, Date.now())
        if (!changed || this.replace(group, file, records, operation, owned, existed)) return result
        // Created by a lock-free writer since it was read: it exists now, and stays this lock's to change.
      }
    })
  }

  private exists(file: string, operation: string): boolean {
    try {
      return fs.statSync(file, NO_THROW) !== undefined
    } catch (error) {
      throw fileSystemError(operation, this.directory, error)
    }
  }

  /**
   * Writes a new group's file and links it into place unless a file is there already; answers whether it
   * did. `false` too when the group's subdirectory does not exist yet (the locked path creates it).
   */
  private createIfAbsent(group: string, file: string, records: GroupRecords, operation: string): boolean {
    const bytes = encodeGroup(group, records)
    const temp = this.paths.tempOf(file)
    try {
      fs.writeFileSync(temp, bytes)
    } catch (error) {
      if (isMissing(error)) return false
      throw fileSystemError(operation, this.directory, error)
    }
    try {
      fs.linkSync(temp, file)
    } catch (error) {
      if (codeOf(error) === 'EEXIST') return false
      throw fileSystemError(operation, this.directory, error)
    } finally {
      removeQuietly(temp)
    }
    this.onWrite(bytes.byteLength)
    return true
  }

  /**
   * Runs `work` holding the lock of `file`, with a check of whether the lock is still held (see
   * `GroupLocks.owns`); recreates the cache's directories once if they were deleted.
   */
  locked<T>(file: string, operation: string, work: (owned: () => boolean) => T): T {
    const lock = this.paths.lockOf(file)
    let owner: string
    try {
      owner = this.locks.acquire(lock, operation)
    } catch (error) {
      if (!isMissing(error)) throw this.typed(operation, error)
      // The group's subdirectory does not exist yet (or the cache was deleted under us): create it, once.
      makeSubdirectory(this.directory, dirname(file))
      try {
        owner = this.locks.acquire(lock, operation)
      } catch (again) {
        throw this.typed(operation, again)
      }
    }
    try {
      return work(() => this.locks.owns(lock, owner))
    } finally {
      try {
        this.locks.release(lock, owner)
      } catch {
        // A lock we cannot remove is broken by the next writer after lockTimeout, or by prune().
      }
    }
  }

  /** The records of a group for a rewrite (a damaged file is reported and counts as empty), and whether a file was there. */
  private readForWrite(
    group: string,
    file: string,
    operation: string,
  ): { records: GroupRecords; existed: boolean } {
    let bytes: Uint8Array
    try {
      bytes = fs.readFileSync(file)
    } catch (error) {
      if (isMissing(error)) return { records: new Map(), existed: false }
      throw fileSystemError(operation, this.directory, error)
    }
    try {
      return { records: decodeGroup(bytes, group), existed: true }
    } catch (error) {
      if (!(error instanceof GroupFileDamage)) throw error
      this.reportCorrupt({ file, reason: error.message })
      return { records: new Map(), existed: true }
    }
  }

  /**
   * Writes the records as the group's new file (a temp file renamed over it, or linked into place when
   * there was no file: `false` if one appeared meanwhile), or removes the file when empty. Under the lock.
   */
  replace(
    group: string,
    file: string,
    records: GroupRecords,
    operation: string,
    owned: () => boolean,
    existed: boolean,
  ): boolean {
    if (!owned()) throw lockLost(operation, file)
    // The kept old file would be noticed as replaced at the next read; closed now, its space is freed now.
    this.openFiles?.forget(group)
    if (records.size === 0) {
      if (!existed) return true
      try {
        fs.unlinkSync(file)
      } catch (error) {
        if (!isMissing(error)) throw fileSystemError(operation, this.directory, error)
      }
      return true
    }
    const bytes = encodeGroup(group, records)
    const temp = this.paths.tempOf(file)
    try {
      fs.writeFileSync(temp, bytes)
      // Checked again right before the rename: a lock broken while this process was paused means another
      // writer may have rewritten the group since it was read, and this write would undo its records.
      if (!owned()) throw lockLost(operation, file)
      if (existed) {
        renameRetrying(temp, file)
      } else {
        try {
          fs.linkSync(temp, file)
        } catch (error) {
          if (codeOf(error) === 'EEXIST') return false
          throw error
        } finally {
          removeQuietly(temp)
        }
      }
      this.onWrite(bytes.byteLength)
      return true
    } catch (error) {
      removeQuietly(temp)
      throw RapideError.isInstance(error) ? error : fileSystemError(operation, this.directory, error)
    }
  }

  /**
   * Removes a damaged file, under the group's lock and only if the file is still damaged (a writer may
   * have replaced it meanwhile with a good one, which must stay). Reported once, by whoever removes it.
   */
  private removeDamaged(group: string, file: string, operation: string): void {
    try {
      this.locked(file, operation, () => {
        let bytes: Uint8Array
        try {
          bytes = fs.readFileSync(file)
        } catch (error) {
          if (isMissing(error)) return
          throw error
        }
        try {
          decodeGroup(bytes, group) // the checksum, and every record (a file can be made to pass the checksum)
        } catch (error) {
          if (!(error instanceof GroupFileDamage)) throw error
          fs.unlinkSync(file)
          this.reportCorrupt({ file, reason: error.message })
        }
      })
    } catch {
      // The read is a miss either way; the next write or prune() removes the file.
    }
  }

  private typed(operation: string, error: unknown): Error {
    if (RapideError.isInstance(error) || codeOf(error) === undefined) return error as Error
    return fileSystemError(operation, this.directory, error)
  }
}

function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path)
  } catch {
    // Not created, or already gone; a leftover is removed by prune() after a minute.
  }
}

/** What a change of a group answers. */
export interface Changed<T> {
  readonly result: T
  readonly changed: boolean
}

/**
 * `renameSync`, retried a few times (1, 2, 4… ms) when refused with `EPERM`, `EACCES` or `EBUSY`: on
 * Windows a rename over a file another process has open fails for a moment. Elsewhere the retries end
 * with the same error, which is then a real permission problem.
 */
function renameRetrying(from: string, to: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fs.renameSync(from, to)
      return
    } catch (error) {
      const code = codeOf(error)
      const transient = code === 'EPERM' || code === 'EACCES' || code === 'EBUSY'
      if (!transient || attempt >= RENAME_ATTEMPTS) throw error
      pause(2 ** (attempt - 1))
    }
  }
}

/** The lock of a group was broken while its holder was stopped: its write is abandoned, never put over another's. */
function lockLost(operation: string, file: string): BackendError {
  return new BackendError(
    operation,
    new Error(
      `the lock of ${file} was broken while this process held it (paused longer than lockTimeout?); the write was abandoned so as not to undo another writer's`,
    ),
  )
}
