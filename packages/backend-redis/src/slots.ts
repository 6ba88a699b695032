import calculateSlot from 'cluster-key-slot'

/**
 * Groups keys by Redis Cluster hash slot (keeping each key's position), so that every multi-key command
 * is sent to one slot: Redis Cluster refuses a command whose keys span slots (`CROSSSLOT`).
 *
 * `prefix` is the client's own `keyPrefix`: ioredis sends `prefix + key`, so that is what Redis hashes
 * (a prefix without a hash tag changes every key's slot; one with a tag puts every key in the tag's).
 */
export function groupBySlot(keys: readonly string[], prefix = ''): Map<number, number[]> {
  const groups = new Map<number, number[]>()
  for (let i = 0; i < keys.length; i++) {
    const slot = calculateSlot(prefix + keys[i]!)
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [i])
    else group.push(i)
  }
  return groups
}

/** Whether every key of `keys` (sent as `prefix + key`) hashes to one slot: a script may touch them all. */
export function sameSlot(keys: readonly string[], prefix = ''): boolean {
  return groupBySlot(keys, prefix).size <= 1
}

/**
 * Replies of a cluster whose slots are moving (or of a multi-key command the cluster cannot serve in one
 * piece right now), and ioredis's error once it gave up following redirections. They concern the keys
 * of one slot, not the health of the cluster: the same command split into single-key commands is
 * served (single-key commands follow `ASK`/`MOVED` and never get `TRYAGAIN`).
 */
const MIGRATION_REPLY = /^(TRYAGAIN|ASK|MOVED|CROSSSLOT)\b|^Too many Cluster redirections/

/** Whether `error` is one of the migration-class errors above. */
export function isMigrationError(error: unknown): boolean {
  return error instanceof Error && MIGRATION_REPLY.test(error.message)
}
