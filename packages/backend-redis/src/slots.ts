import calculateSlot from 'cluster-key-slot'

/**
 * Groups keys by Redis Cluster hash slot (keeping each key's position), so that every multi-key command
 * is sent to one slot: Redis Cluster refuses a command whose keys span slots (`CROSSSLOT`).
 */
export function groupBySlot(keys: readonly string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>()
  for (let i = 0; i < keys.length; i++) {
    const slot = calculateSlot(keys[i]!)
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [i])
    else group.push(i)
  }
  return groups
}
