import fs from 'node:fs'
import type { StoredRecord } from './record-format.js'

/** A group file kept open and in memory: its verified bytes and the identity they were read with. */
export interface OpenGroupFile {
  /** The open descriptor: while it is open, the file's inode cannot be given to another file. */
  readonly fd: number
  readonly dev: number
  readonly ino: number
  readonly size: number
  readonly mtimeMs: number
  readonly ctimeMs: number
  /** The file's bytes, owned (never a reused read buffer), verified when read. */
  readonly bytes: Uint8Array
  readonly start: number
  readonly count: number
  /** Its records by key, values as views of `bytes`. */
  readonly index: ReadonlyMap<string, StoredRecord>
  /** Read since the eviction hand last passed (second chance). */
  used: boolean
  /** Recent reads (halved as counts age): what a group wanting its place must beat. */
  reads: number
}

/** `statSync` answers `undefined` for a missing file instead of throwing (an exception costs microseconds). */
export const NO_THROW = { throwIfNoEntry: false } as const

/** At most this many groups not kept have their reads counted (the count is cleared when it would grow past). */
const COUNTED = 4096
/** Every this many reads, all counts are halved, so the counts follow what is hot now. */
const AGING_READS = 16 * 1024

/**
 * The read cache of hot group files: a domain's generations, hot results. Such a file is kept open with
 * its bytes in memory and its records indexed, and reading it again is one `stat` of its path instead of
 * open, read and close.
 *
 * Why a `stat` is enough: group files are never written in place, only replaced whole by a rename (or
 * removed), which gives the path another inode. While this process holds the old file open, its inode
 * number cannot be given to a new file, so "the path's inode is still the one held" means "the path still
 * holds these bytes". Size, modification and change times are compared too, so a file modified in place
 * by something else (an editor, a tamperer) is read again and verified. The `stat` goes to the path, not
 * to the open descriptor, so a replaced or moved file is noticed even where an unlinked open file stays
 * linked under another name (NFS "silly rename").
 *
 * Which files: reads are counted per group (halved every {@link AGING_READS} reads). A group is kept on
 * its second read while there is room; when full, only if it was read more often than the file next in
 * the second-chance hand's order (the TinyLFU rule, approximated), so a loop over more keys than fit, or a walk over
 * cold keys, does not churn descriptors. At most `capacity` files are kept, none over
 * {@link OpenGroupFiles.MAX_FILE_BYTES}: that bounds the descriptors and memory this costs.
 */
export class OpenGroupFiles {
  /** Files larger than this are read each time (the memory kept would be the values'). */
  static readonly MAX_FILE_BYTES = 64 * 1024

  private readonly files = new Map<string, OpenGroupFile>()
  /** Recent reads of groups not kept. */
  private readonly counts = new Map<string, number>()
  private reads = 0

  constructor(private readonly capacity: number) {}

  /**
   * The kept file of `group` if `path` still holds it; `'absent'` when the path holds no file;
   * `undefined` when it must be read (not kept, or replaced: then closed and forgotten).
   */
  lookup(group: string, path: string): OpenGroupFile | 'absent' | undefined {
    if (++this.reads >= AGING_READS) this.age()
    const kept = this.files.get(group)
    if (kept === undefined) return undefined
    const now = fs.statSync(path, NO_THROW)
    if (
      now !== undefined &&
      now.ino === kept.ino &&
      now.dev === kept.dev &&
      now.size === kept.size &&
      now.mtimeMs === kept.mtimeMs &&
      now.ctimeMs === kept.ctimeMs
    ) {
      kept.used = true
      kept.reads++
      return kept
    }
    this.forget(group)
    if (now === undefined) return 'absent'
    // Replaced: still hot, so its new file is kept at once.
    this.counts.set(group, kept.reads + 1)
    return undefined
  }

  /** Counts a read of a group not kept, and answers whether to keep its file (read just now). */
  admits(group: string): boolean {
    if (this.capacity === 0) return false
    const reads = (this.counts.get(group) ?? 0) + 1
    if (reads < 2) {
      // Cleared all at once when full: cheaper than an LRU, and a hot group comes back at its next reads.
      if (this.counts.size >= COUNTED) this.counts.clear()
      this.counts.set(group, reads)
      return false
    }
    this.counts.set(group, reads)
    if (this.files.size < this.capacity) return true
    // Compared with the file next in the hand's order (not moved: this runs on every read of a group
    // not kept, and most answers are no).
    const next = this.files.values().next().value
    return next === undefined || reads > next.reads
  }

  /** Keeps a verified file open (after {@link admits} said so). Its descriptor is now this cache's to close. */
  keep(group: string, file: Omit<OpenGroupFile, 'used' | 'reads'>): void {
    this.forget(group)
    if (this.files.size >= this.capacity) this.forget(this.victim()[0])
    this.files.set(group, { ...file, used: false, reads: this.counts.get(group) ?? 1 })
    this.counts.delete(group)
  }

  /** Closes and forgets a group's kept file (this process is replacing it, or it was replaced). */
  forget(group: string): void {
    const kept = this.files.get(group)
    if (kept === undefined) return
    this.files.delete(group)
    closeQuietly(kept.fd)
  }

  /** Closes every kept file. */
  clear(): void {
    for (const kept of this.files.values()) closeQuietly(kept.fd)
    this.files.clear()
    this.counts.clear()
  }

  /** How many files are kept open (for tests). */
  get size(): number {
    return this.files.size
  }

  /**
   * The file the second-chance hand stops at: the first not read since the hand last passed (a file read
   * since is moved to the back, its mark cleared). Called only when full, so never on an empty map.
   */
  private victim(): [string, OpenGroupFile] {
    for (const [group, kept] of this.files) {
      if (!kept.used) return [group, kept]
      kept.used = false
      this.files.delete(group)
      this.files.set(group, kept)
    }
    throw new Error('unreachable: the read cache is full')
  }

  private age(): void {
    this.reads = 0
    for (const [group, reads] of this.counts) {
      if (reads <= 1) this.counts.delete(group)
      else this.counts.set(group, reads >> 1)
    }
    for (const kept of this.files.values()) kept.reads >>= 1
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // Already closed: nothing is held.
  }
}
