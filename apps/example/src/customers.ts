import { SqliteBackend } from '@rapide/backend-sqlite'
import { createCache } from '@rapide/core'

const data: Record<number, string> = { 1: 'Anna', 2: 'Bethany' }

// One cache for this domain, in a SQLite file every process on this machine shares
// (node_modules/.cache/rapide/cache.sqlite). Swapping the backend is a change of import.
export const cache = createCache({
  domainKey: 'EXAMPLE_DOMAIN',
  backend: SqliteBackend,
  defaultTtl: 30,
})

// Read: cached by its arguments under a function key.
export const getCustomerName = cache.wrap('GET_CUSTOMER_NAME', (cid: number): string | undefined => data[cid])

// Update: invalidate exactly the one result that changed.
export function setCustomerName(cid: number, name: string): void {
  data[cid] = name
  cache.invalidateResult('GET_CUSTOMER_NAME', cid)
}

// Delete all: invalidate every result of the read function.
export function deleteAllCustomers(): void {
  for (const cid of Object.keys(data)) delete data[Number(cid)]
  cache.invalidateFunc('GET_CUSTOMER_NAME')
}
