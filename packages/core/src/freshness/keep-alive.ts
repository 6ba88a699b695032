import { MAX_TIMER_MS } from './freshness-policy.js'

/** A call kept alive by never-die: how to make it again, and when it was last made. */
interface KeptCall {
  self: unknown
  args: readonly unknown[]
  lastCalledAt: number
  timer: ReturnType<typeof setTimeout> | undefined
  /** When the timer's work is due (a timer cannot wait longer than {@link MAX_TIMER_MS}: it is re-armed). */
  dueAt: number
  /** A result of it was stored by this process: its refreshes are this process's to run. */
  storedHere: boolean
  /** Forgotten (idle, or the cache closed): a hit holding this record must touch the call anew. */
  forgotten: boolean
}

/**
 * Never-die for one wrapped function: each result stored for a call that is still being made is
 * recomputed in the background at `at` × ttl after it was stored, so callers keep getting a fresh result
 * without ever waiting for a computation. A refresh that fails keeps the old result (it answers as stale,
 * see `FreshnessPolicy`) and is tried again; refreshes of a call stop once nobody has made it for `idleMs`.
 *
 * Timers never keep the process alive (`unref`), and all stop when the cache closes.
 */
export class KeepAlive {
  private readonly calls = new Map<string, KeptCall>()
  private stopped = false

  constructor(
    private ttlMs: number,
    private readonly at: number,
    private readonly idleMs: number,
    /** Recomputes and stores a call in the background (a store calls {@link stored}); never rejects. */
    private readonly refresh: (self: unknown, args: readonly unknown[], key: string) => Promise<void>,
  ) {}

  /**
   * A call was made (hit or miss): it stays alive for another `idleMs`. Answers whether never-die keeps it
   * alive here: this process stored a result of it and keeps refreshing it (a process that did not, having
   * started since or stopped for idleness, does not answer an expired result as fresh enough).
   */
  touch(key: string, self: unknown, args: readonly unknown[], now: number): boolean {
    const kept = this.calls.get(key)
    if (kept === undefined) {
      if (this.stopped) return false
      const fresh: KeptCall = {
        self,
        args,
        lastCalledAt: now,
        timer: undefined,
        dueAt: 0,
        storedHere: false,
        forgotten: false,
      }
      this.calls.set(key, fresh)
      // Checked once idle even if nothing is ever stored for it (the call fails, or is not cached), so a
      // call made once is not kept forever.
      this.schedule(key, fresh, this.idleMs)
      return false
    }
    return renew(kept, self, args, now)
  }

  /**
   * `touch` through the record a stored result carries (`LiveEntry.kept`), without a lookup; a forgotten
   * or missing record is replaced on the entry by the call's current one.
   */
  touchEntry(
    entry: { kept: object | undefined },
    key: string,
    self: unknown,
    args: readonly unknown[],
    now: number,
  ): boolean {
    const kept = entry.kept as KeptCall | undefined
    if (kept !== undefined && !kept.forgotten) return renew(kept, self, args, now)
    const keptAlive = this.touch(key, self, args, now)
    entry.kept = this.calls.get(key)
    return keptAlive
  }

  /** The record of `key`, to carry on its stored result. */
  recordOf(key: string): object | undefined {
    return this.calls.get(key)
  }

  /** A result of `key` was stored at `storedAt`: its refresh is due at `at` × ttl after. */
  stored(key: string, storedAt: number): void {
    const kept = this.calls.get(key)
    if (kept === undefined || this.stopped) return
    kept.storedHere = true
    this.schedule(key, kept, storedAt + this.ttlMs * this.at - Date.now())
  }

  /** The function's ttl changed (`setExpiry`): refreshes scheduled from now on follow it. */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs
  }

  /** Stops every refresh (the cache closes). */
  stop(): void {
    this.stopped = true
    for (const kept of this.calls.values()) {
      if (kept.timer !== undefined) clearTimeout(kept.timer)
      kept.forgotten = true
    }
    this.calls.clear()
  }

  /** Calls kept alive (for tests and statistics). */
  get size(): number {
    return this.calls.size
  }

  private schedule(key: string, kept: KeptCall, inMs: number): void {
    if (kept.timer !== undefined) clearTimeout(kept.timer)
    kept.dueAt = Date.now() + Math.max(0, inMs)
    this.arm(key, kept)
  }

  /** A timer for the due time, or for the longest a timer can wait, then re-armed. */
  private arm(key: string, kept: KeptCall): void {
    const wait = Math.min(Math.max(0, kept.dueAt - Date.now()), MAX_TIMER_MS)
    kept.timer = setTimeout(() => this.due(key, kept), wait)
    kept.timer.unref?.()
  }

  private due(key: string, kept: KeptCall): void {
    kept.timer = undefined
    if (this.stopped || this.calls.get(key) !== kept) return
    if (Date.now() < kept.dueAt) {
      this.arm(key, kept)
      return
    }
    const now = Date.now()
    if (now - kept.lastCalledAt >= this.idleMs) {
      this.calls.delete(key)
      kept.forgotten = true
      return
    }
    if (!kept.storedHere) {
      // Nothing of it stored here: only its idle check is due, at the new idle time.
      this.schedule(key, kept, kept.lastCalledAt + this.idleMs - now)
      return
    }
    void this.refresh(kept.self, kept.args, key).then(() => {
      // Stored: `stored()` has scheduled the next one. Failed (or discarded by an invalidation): the old
      // result keeps answering, and the refresh is tried again a little later.
      if (!this.stopped && this.calls.get(key) === kept && kept.timer === undefined) {
        this.schedule(key, kept, Math.max(100, (this.ttlMs * (1 - this.at)) / 2))
      }
    })
  }
}

/**
 * A call made again: it keeps its latest `this` and arguments (what the key leaves out, `excludeArgs`, a
 * custom `key`, an unkeyed `this`, may differ between calls, and a refresh must not run with a stale one).
 * Answers whether this process keeps it alive.
 */
function renew(kept: KeptCall, self: unknown, args: readonly unknown[], now: number): boolean {
  kept.self = self
  kept.args = args
  kept.lastCalledAt = now
  return kept.storedHere
}
