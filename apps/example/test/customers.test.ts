import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cache, deleteAllCustomers, getCustomerName, setCustomerName } from '../src/customers.js'

const here = dirname(fileURLToPath(import.meta.url))

describe("the seed's customer example", () => {
  it('caches reads, invalidates one result on update and all of them on delete', () => {
    // The SQLite file outlives runs; the in-memory customer data does not.
    cache.clear()
    let hits = 0
    cache.on('hit', () => hits++)
    expect(getCustomerName(1)).toBe('Anna')
    expect(getCustomerName(1)).toBe('Anna')
    expect(hits).toBe(1)
    expect(getCustomerName(2)).toBe('Bethany')
    setCustomerName(1, 'Annabel')
    expect(getCustomerName(1)).toBe('Annabel')
    expect(hits).toBe(1)
    expect(getCustomerName(2)).toBe('Bethany')
    expect(hits).toBe(2)
    deleteAllCustomers()
    expect(getCustomerName(1)).toBeUndefined()
    expect(getCustomerName(2)).toBeUndefined()
  })

  it('is the code the README shows, word for word', () => {
    const readme = readFileSync(join(here, '..', '..', '..', 'README.md'), 'utf8')
    const source = readFileSync(join(here, '..', 'src', 'customers.ts'), 'utf8')
    expect(readme).toContain(source.trim())
  })
})
