import fs from 'node:fs'
import { hostname } from 'node:os'
import { threadId } from 'node:worker_threads'
import { BackendTimeoutError } from '@rapide/core'
import { codeOf, isMissing } from './fs-errors.js'
import { pause } from './pause.js'
import { processAlive } from './process-alive.js'

/** The first pause when a lock is taken (ms); it doubles up to {@link LONGEST_PAUSE}. */
const FIRST_PAUSE = 0.05
const LONGEST_PAUSE = 4
/** While waiting, how often the holder is checked (is it still running?), in ms. */
const HOLDER_CHECK_EVERY = 25

/** A lock still empty this long after its creation was left by a holder killed before writing its name. */
const EMPTY_LOCK_MS = 1000

const host = hostname()

/**
 * This process's PID namespace (Linux): two containers can share a host name while their process ids
 * mean different processes, so a holder's pid is only checked when its namespace is this one's too.
 */
const pidNamespace = (() => {
  try {
    return fs.readlinkSync('/proc/self/ns/pid').replace(/\s/g, '')
  } catch {
    return '-'
  }
})()

/**
 * Per-group lock files: `<group file>.lock`, created with `O_EXCL` (`openSync(path, 'wx')`), so exactly
 * one process (or thread) rewrites a group at a time; readers take no lock (a group file is replaced by
 * a rename, never written in place). The file holds `pid host pid-namespace nonce thread`.
 *
 * A lock is broken (so a crashed holder cannot block forever) when its holder was a process of this host
 * (and PID namespace) that is no longer running, or, for a holder this process cannot check, when it is
 * older than `staleMs`. A holder that is provably still running is never broken, however slow: the main
 * thread of a running process. A worker thread can be terminated (`worker.terminate()`, a pool's timeout)
 * while its process runs on, so its lock falls under the age rule; a lock of this very thread that it
 * does not hold (a write of this thread ended without releasing it) is broken at once. Breaking
 * renames the lock aside first and deletes it only if it is still the lock judged stale; otherwise it is
 * put back.
 *
 * A holder whose lock was broken all the same (it was paused for longer than `staleMs` on another host)
 * must not write: `owns` tells it, right before its rename, and its write is abandoned with an error
 * rather than put over what the breaker wrote.
 */
export class GroupLocks {
  constructor(
    /** A lock older than this is broken. */
    private readonly staleMs: number,
    /** How long a write waits for a lock before failing with `BackendTimeoutError`. */
    private readonly waitMs: number,
  ) {}

  /**
   * Takes the lock at `path`, waiting (blocking, bounded); answers the owner token written in it. Throws
   * the file system's error when it cannot create it.
   */
  acquire(path: string, operation: string): string {
    let pauseMs = FIRST_PAUSE
    let deadline = 0
    let nextHolderCheck = 0
    for (;;) {
      try {
        const fd = fs.openSync(path, 'wx')
        const owner = `${process.pid} ${host} ${pidNamespace} ${Math.random().toString(36).slice(2)} ${threadId}`
        try {
          fs.writeSync(fd, owner)
        } catch (error) {
          fs.closeSync(fd)
          fs.rmSync(path, { force: true })
          throw error
        }
        fs.closeSync(fd)
        return owner
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw error
      }
      const now = Date.now()
      if (deadline === 0) {
        deadline = now + this.waitMs
        nextHolderCheck = now + HOLDER_CHECK_EVERY
      }
      const checkHolder = now >= nextHolderCheck
      if (checkHolder) nextHolderCheck = now + HOLDER_CHECK_EVERY
      const broken = this.breakIfStale(path, checkHolder)
      if (now >= deadline) {
        throw new BackendTimeoutError(`${operation} (waiting for the lock ${path})`, this.waitMs)
      }
      if (broken) continue
      pause(pauseMs)
      pauseMs = Math.min(pauseMs * 2, LONGEST_PAUSE)
    }
  }

  /** Whether the lock at `path` is still the one `owner` took (not broken and taken by another since). */
  owns(path: string, owner: string): boolean {
    try {
      return fs.readFileSync(path, 'latin1') === owner
    } catch (error) {
      if (isMissing(error)) return false
      throw error
    }
  }

  /** Releases a lock taken by {@link acquire}, unless it was broken and is now another holder's. */
  release(path: string, owner: string): void {
    if (!this.owns(path, owner)) return
    try {
      fs.unlinkSync(path)
    } catch (error) {
      if (!isMissing(error)) throw error
    }
  }

  /**
   * Breaks the lock at `path` if it is stale (older than `staleMs`, or, with `checkHolder`, held by a
   * process of this host that has ended). Answers whether the lock is gone (broken, or released meanwhile).
   */
  breakIfStale(path: string, checkHolder: boolean): boolean {
    let stat: fs.Stats | undefined
    let content: string
    try {
      stat = fs.statSync(path, { throwIfNoEntry: false })
      if (stat === undefined) return true
      const age = Date.now() - stat.mtimeMs
      const old = age > this.staleMs
      if (!old && !checkHolder) return false
      content = fs.readFileSync(path, 'latin1')
      // A holder still running here is waited for, however long it takes: breaking its lock would let
      // two writers rewrite the group, and one would lose the other's records (an invalidation's marker).
      if (holderRunning(content)) return false
      // Empty a second after it was created: its holder was killed between creating and writing it.
      if (!old && !holderEnded(content) && !(content === '' && age > EMPTY_LOCK_MS)) return false
    } catch (error) {
      if (isMissing(error)) return true
      throw error
    }
    const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.broken`
    try {
      fs.renameSync(path, aside)
    } catch (error) {
      if (isMissing(error)) return true
      throw error
    }
    // Between the check and the rename another process may have broken it and taken it anew: then this
    // is its lock, which goes back (unless a third took the place meanwhile: at worst two writers, whose
    // renames are each atomic, so a reader still never sees a mixed file).
    let same = false
    try {
      same = fs.readFileSync(aside, 'latin1') === content
      if (!same) fs.linkSync(aside, path)
    } catch {
      // Put back or not, the aside copy goes.
    }
    try {
      fs.unlinkSync(aside)
    } catch {
      // prune() removes leftovers.
    }
    return true
  }
}

/**
 * Whether a lock's content names a holder provably gone: a process of this host and PID namespace that is
 * no longer running, or this very thread (which holds no lock while it waits for one).
 */
export function holderEnded(content: string): boolean {
  const [pid, holderHost, namespace, , thread] = content.split(' ')
  if (!checkable(holderHost, namespace) || pid === undefined) return false
  if (thread !== undefined && Number(pid) === process.pid) return thread === String(threadId)
  return !processAlive(Number(pid))
}

/**
 * Whether a lock's content names a holder provably still running: the main thread of a running process of
 * this host and PID namespace (a lock written before the thread was recorded: a running process).
 * A worker thread's cannot be told from a terminated one's.
 */
function holderRunning(content: string): boolean {
  const [pid, holderHost, namespace, , thread] = content.split(' ')
  if (!checkable(holderHost, namespace) || pid === undefined) return false
  if (thread === undefined) return processAlive(Number(pid)) // written before threads were recorded
  if (thread !== '0') return false
  if (Number(pid) === process.pid) return threadId !== 0 // the main thread of this process, seen from a worker
  return processAlive(Number(pid))
}

function checkable(holderHost: string | undefined, namespace: string | undefined): boolean {
  return holderHost === host && namespace === pidNamespace && pidNamespace !== '-'
}
