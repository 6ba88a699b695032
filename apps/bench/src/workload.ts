/**
 * The fixed workload every subject runs.
 *
 * - The cached function takes one integer argument (a customer id) and returns a small object
 *   (`{ id, name, tier }`, about 50 bytes as JSON).
 * - Hit: 1 000 ids are warmed first, then calls cycle through them, so every call is a hit.
 * - Miss: every call uses a new id, so every call computes and stores (the store is bounded at
 *   10 000 entries wherever the library allows a bound, so misses also pay for eviction).
 * - One call in flight at a time.
 */
export const HOT_KEYS = 1000
export const MAX_ENTRIES = 10_000

export interface Customer {
  id: number
  name: string
  tier: string
}

export function loadCustomer(id: number): Customer {
  return { id, name: `customer-${id}`, tier: id % 3 === 0 ? 'gold' : 'silver' }
}
