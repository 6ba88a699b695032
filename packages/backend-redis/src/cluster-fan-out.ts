import { BackendUnavailableError } from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import type { OperationEnvelope } from './operation-envelope.js'
import { ReadFailure, type ReadResult } from './read-batcher.js'
import { groupBySlot, isMigrationError, sameSlot } from './slots.js'

/** How long a slot that answered a merged read with a migration error is read key by key. */
const MIGRATING_SLOT_MS = 1000

/**
 * Multi-key commands on a Redis Cluster. A cluster refuses a command whose keys span hash slots
 * (`CROSSSLOT`), so each is split by slot (of `keyPrefix + key`, what ioredis sends), and the parts are
 * sent together: one round trip of latency, one command per slot. A slot on the move (resharding)
 * refuses multi-key commands with `TRYAGAIN`: its keys then go one by one, which the cluster serves by
 * redirection, and a key that still fails fails only its own callers.
 *
 * The standalone client needs none of this (one command whatever the keys): the backend calls this
 * class only on a cluster, which keeps the single-server path free of it.
 */
export class ClusterFanOut {
  /** Slots whose merged reads recently met a migration: read key by key until the time noted. */
  private readonly migratingSlots = new Map<number, number>()
  private ready: Promise<void> | undefined

  constructor(
    private readonly cluster: Cluster,
    /** The client's own `keyPrefix`: part of the key Redis hashes. */
    private readonly prefix: string,
    private readonly envelope: OperationEnvelope,
  ) {}

  /** Whether every key (sent as `prefix + key`) is in one slot, so a script may touch them all. */
  sameSlot(keys: readonly string[]): boolean {
    return sameSlot(keys, this.prefix)
  }

  /** `items` split by the slot of their key, each part in the order given. */
  bySlot<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
    const positions = groupBySlot(items.map(keyOf), this.prefix).values()
    return [...positions].map((group) => group.map((i) => items[i]!))
  }

  /**
   * One merged read: one `MGET` per slot, sent together. A slot being migrated answers a multi-key read
   * with `TRYAGAIN` as long as some of its keys have moved (or are absent: a miss), for as long as the
   * migration lasts. That slot's keys are then read one by one (single-key reads follow `ASK` to the
   * importing node), and a key that still fails fails only the calls that read it: the other slots of
   * the merged read, and the other keys, are served.
   */
  async mget(keys: string[]): Promise<ReadResult[]> {
    const out = new Array<ReadResult>(keys.length)
    const now = Date.now()
    const { cluster } = this
    await Promise.all(
      [...groupBySlot(keys, this.prefix)].map(async ([slot, positions]) => {
        const migrating = (this.migratingSlots.get(slot) ?? 0) > now
        // A lone key goes the single-key way at once: its failure is then its own readers' alone.
        if (!migrating && positions.length > 1) {
          try {
            const values = await cluster.mgetBuffer(positions.map((i) => keys[i]!))
            positions.forEach((position, j) => {
              out[position] = values[j] ?? null
            })
            return
          } catch (error) {
            if (!isMigrationError(error)) throw error
            this.migratingSlots.set(slot, Date.now() + MIGRATING_SLOT_MS)
          }
        }
        await Promise.all(
          positions.map(async (position) => {
            try {
              out[position] = await cluster.getBuffer(keys[position]!)
            } catch (error) {
              if (!isMigrationError(error)) throw error
              out[position] = new ReadFailure(this.envelope.classify('getMany', error))
            }
          }),
        )
      }),
    )
    return out
  }

  /**
   * Deletes keys with one command per slot; returns the count. A slot being migrated refuses a multi-key
   * delete (`TRYAGAIN`): its keys are then deleted one by one.
   */
  async delete(keys: readonly string[], command: 'del' | 'unlink'): Promise<number> {
    const { cluster } = this
    const counts = await Promise.all(
      this.bySlot(keys, (key) => key).map(async (group) => {
        try {
          return await cluster[command](...group)
        } catch (error) {
          if (!isMigrationError(error) || group.length === 1) throw error
          const each = await Promise.all(group.map((key) => cluster[command](key)))
          return each.reduce((a, b) => a + b, 0)
        }
      }),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /**
   * The masters a listing must scan. A cluster client knows them only once it has loaded the slot map:
   * before that, wait for it (within the time bound) rather than list nothing and clear nothing.
   */
  async masters(): Promise<Redis[]> {
    const { cluster } = this
    if (cluster.status !== 'ready') {
      // One listener however many listings wait (each waits within its own bound).
      this.ready ??= new Promise<void>((resolve) =>
        cluster.once('ready', () => {
          this.ready = undefined
          resolve()
        }),
      )
      const ready = this.ready
      await this.envelope.run('keys', () => ready)
    }
    const masters = cluster.nodes('master')
    if (masters.length === 0)
      throw new BackendUnavailableError('Redis keys: the cluster has no reachable master')
    return masters
  }
}
