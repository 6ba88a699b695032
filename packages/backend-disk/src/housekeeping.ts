import fs from 'node:fs'
import { join } from 'node:path'
import { entriesOf, SUBDIRECTORIES } from './directory-walk.js'
import { isMissing } from './fs-errors.js'
import type { GroupLocks } from './group-lock.js'
import { GROUP_FILE_NAME, type GroupPaths, LOCK_SUFFIX, TEMP_SUFFIX } from './group-paths.js'
import type { GroupStore } from './group-store.js'
import { processAlive } from './process-alive.js'
import {
  decodeGroup,
  GroupFileDamage,
  type GroupRecords,
  groupOfFile,
  isLive,
  verifyGroup,
} from './record-format.js'

/** What a `prune()` pass did. */
export interface PruneReport {
  /** Expired records removed. */
  expired: number
  /** Records removed because a function or domain invalidation made them dead (`reclaimPrefix`). */
  reclaimed: number
  /** Records evicted by `maxBytes`. */
  evicted: number
  /** Damaged group files removed. */
  damaged: number
  /** Stray temp files removed (left by a writer that was killed). */
  tempFiles: number
  /** Stale locks broken (left by a holder that crashed). */
  locks: number
  /** Bytes of group files after the pass. */
  bytes: number
}

/** A temp file older than this is a killed writer's, whoever wrote it. */
const STRAY_TEMP_MS = 60_000
/** A temp file of a process of this host that has ended is removed once this old. */
const ENDED_WRITER_TEMP_MS = 1_000
/** Eviction goes down to this share of `maxBytes`, so the next writes do not evict again at once. */
const EVICT_TO = 0.9

interface DeadPrefix {
  readonly prefix: string
  readonly deadBefore: number
}

interface Candidate {
  readonly group: string
  readonly size: number
  readonly lastWritten: number
}

/**
 * `prune()`: one walk over the 256 subdirectories that removes expired records, records under prefixes
 * an invalidation made dead (written before it), damaged files, stray temp files and stale locks, then
 * evicts for `maxBytes`. Runs whole when called, or in the background one subdirectory per event-loop
 * turn, so it never stalls calls for long.
 */
export class Housekeeping {
  private readonly dead: DeadPrefix[] = []
  private writtenSinceCount = 0
  private background: Generator<void, PruneReport> | undefined
  private again = false
  private soon: NodeJS.Timeout | undefined

  constructor(
    private readonly directory: string,
    private readonly paths: GroupPaths,
    private readonly store: GroupStore,
    private readonly locks: GroupLocks,
    private readonly maxBytes: number | undefined,
    private readonly warn: (error: unknown) => void,
  ) {}

  /** Records that keys under `prefix` written before now are dead, and prunes soon (in the background). */
  markDead(prefix: string): void {
    this.dead.push({ prefix, deadBefore: Date.now() })
    this.pruneSoon(1000)
  }

  /** Counts what this process wrote; past a tenth of `maxBytes` since the last count, prunes soon. */
  noteWrite(bytes: number): void {
    if (this.maxBytes === undefined) return
    this.writtenSinceCount += bytes
    if (this.writtenSinceCount > this.maxBytes / 10) {
      this.writtenSinceCount = 0
      this.pruneSoon(0)
    }
  }

  /** A whole pass now (a background one under way is taken over). */
  prune(): PruneReport {
    this.background = undefined
    const pass = this.pass()
    for (;;) {
      const step = pass.next()
      if (step.done) return step.value
    }
  }

  /** Starts a background pass after `delayMs` (once, however many ask meanwhile). */
  pruneSoon(delayMs: number): void {
    if (this.soon !== undefined) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.startBackground()
    }, delayMs)
    this.soon.unref()
  }

  stop(): void {
    if (this.soon !== undefined) clearTimeout(this.soon)
    this.soon = undefined
    this.background = undefined
  }

  startBackground(): void {
    if (this.background !== undefined) {
      this.again = true
      return
    }
    const pass = this.pass()
    this.background = pass
    const step = (): void => {
      if (this.background !== pass) return
      try {
        if (!pass.next().done) {
          setImmediate(step).unref()
          return
        }
      } catch (error) {
        this.warn(error)
      }
      this.background = undefined
      if (this.again) {
        this.again = false
        this.startBackground()
      }
    }
    setImmediate(step).unref()
  }

  /** One pass, a step per subdirectory. */
  private *pass(): Generator<void, PruneReport> {
    const dead = this.dead.slice()
    const report: PruneReport = {
      expired: 0,
      reclaimed: 0,
      evicted: 0,
      damaged: 0,
      tempFiles: 0,
      locks: 0,
      bytes: 0,
    }
    const candidates: Candidate[] = []
    for (const subdirectory of SUBDIRECTORIES) {
      for (const name of entriesOf(this.directory, subdirectory)) {
        const path = join(this.directory, subdirectory, name)
        if (GROUP_FILE_NAME.test(name)) this.pruneGroupFile(path, dead, report, candidates)
        else if (name.endsWith(TEMP_SUFFIX)) this.pruneTemp(path, name, report)
        else if (name.endsWith(LOCK_SUFFIX)) {
          if (this.locks.breakIfStale(path, true) && !fs.existsSync(path)) report.locks++
        } else if (name.endsWith('.broken')) removeIfOlder(path, STRAY_TEMP_MS)
      }
      yield
    }
    // The prefixes handled by this pass are done with (later ones stay for the next).
    for (const handled of dead) this.dead.splice(this.dead.indexOf(handled), 1)
    this.writtenSinceCount = 0
    if (this.maxBytes !== undefined && report.bytes > this.maxBytes)
      this.evict(candidates, report, this.maxBytes)
    return report
  }

  private pruneGroupFile(
    path: string,
    dead: readonly DeadPrefix[],
    report: PruneReport,
    candidates: Candidate[],
  ): void {
    let bytes: Uint8Array
    try {
      bytes = fs.readFileSync(path)
    } catch {
      return
    }
    let group: string
    let records: GroupRecords
    try {
      verifyGroup(bytes, undefined)
      group = groupOfFile(bytes)
      if (this.paths.fileOf(group) !== path)
        throw new GroupFileDamage('holds another group (a file moved or copied into place)')
      records = decodeGroup(bytes, group)
    } catch (error) {
      if (!(error instanceof GroupFileDamage)) throw error
      if (this.removeIfStillDamaged(path)) report.damaged++
      return
    }
    const now = Date.now()
    let stale = false
    for (const [key, record] of records) {
      if (!isLive(record, now) || isDead(key, record.writtenAt, dead)) {
        stale = true
        break
      }
    }
    if (stale) {
      records = this.store.mutate(group, 'prune', (current, at) => {
        let changed = false
        for (const [key, record] of current) {
          if (!isLive(record, at)) {
            report.expired++
          } else if (isDead(key, record.writtenAt, dead)) {
            report.reclaimed++
          } else continue
          current.delete(key)
          changed = true
        }
        return { result: new Map(current), changed }
      })
    }
    if (records.size === 0) return
    let size = 0
    let evictable = 0
    let lastWritten = 0
    for (const [key, record] of records) {
      const bytes = key.length + record.value.byteLength + 25
      size += bytes
      if (record.writtenAt > lastWritten) lastWritten = record.writtenAt
      // A result's group holds its generation too: the group is a candidate for its values, and only
      // they go (bookkeeping is never evicted).
      if (!record.bookkeeping) evictable += bytes
    }
    report.bytes += size
    if (evictable > 0) candidates.push({ group, size: evictable, lastWritten })
  }

  /** Removes values, oldest written group first, down to 90% of the bound; bookkeeping is never evicted. */
  private evict(candidates: Candidate[], report: PruneReport, maxBytes: number): void {
    candidates.sort((a, b) => a.lastWritten - b.lastWritten)
    const target = maxBytes * EVICT_TO
    for (const candidate of candidates) {
      if (report.bytes <= target) return
      const removed = this.store.mutate(candidate.group, 'prune', (records) => {
        let count = 0
        for (const [key, record] of records) {
          if (record.bookkeeping) continue
          records.delete(key)
          count++
        }
        return { result: count, changed: count > 0 }
      })
      report.evicted += removed
      report.bytes -= candidate.size
    }
  }

  private pruneTemp(path: string, name: string, report: PruneReport): void {
    const pid = Number(name.split('.')[1])
    const age = ageOf(path)
    if (age === undefined) return
    if (age > STRAY_TEMP_MS || (age > ENDED_WRITER_TEMP_MS && !processAlive(pid))) {
      if (remove(path)) report.tempFiles++
    }
  }

  /** Under the file's lock, removes it if it is still damaged. */
  private removeIfStillDamaged(path: string): boolean {
    return this.store.locked(path, 'prune', () => {
      let bytes: Uint8Array
      try {
        bytes = fs.readFileSync(path)
      } catch {
        return false
      }
      try {
        verifyGroup(bytes, undefined)
        if (this.paths.fileOf(groupOfFile(bytes)) === path) return false
      } catch (error) {
        if (!(error instanceof GroupFileDamage)) throw error
      }
      return remove(path)
    })
  }
}

function isDead(key: string, writtenAt: number, dead: readonly DeadPrefix[]): boolean {
  for (const { prefix, deadBefore } of dead) if (writtenAt < deadBefore && key.startsWith(prefix)) return true
  return false
}

function ageOf(path: string): number | undefined {
  const stat = fs.statSync(path, { throwIfNoEntry: false })
  return stat === undefined ? undefined : Date.now() - stat.mtimeMs
}

function removeIfOlder(path: string, ms: number): void {
  const age = ageOf(path)
  if (age !== undefined && age > ms) remove(path)
}

function remove(path: string): boolean {
  try {
    fs.unlinkSync(path)
    return true
  } catch (error) {
    if (isMissing(error)) return false
    throw error
  }
}
