import { cache, deleteAllCustomers, getCustomerName, setCustomerName } from './customers.js'

// Narrates what the cache does while the seed's scenario runs.
let lastEvent = ''
cache.on('hit', () => {
  lastEvent = 'hit  '
})
cache.on('miss', () => {
  lastEvent = 'miss '
})
cache.on('invalidate', ({ level, key }) => {
  console.log(`  invalidated ${level}${key ? ` (${key})` : ''}`)
})

function read(cid: number): void {
  lastEvent = ''
  const started = process.hrtime.bigint()
  const name = getCustomerName(cid)
  const micros = Number(process.hrtime.bigint() - started) / 1000
  console.log(`  ${lastEvent} getCustomerName(${cid}) = ${JSON.stringify(name)}  [${micros.toFixed(1)} µs]`)
}

console.log(`rapide example on the ${cache.backend.name} backend (domain ${cache.domainKey})`)
// The cache outlives this process but the customer data above does not: start the story from empty.
cache.clear()
console.log('Cleared the domain left by an earlier run.\n')
console.log('Reading customers twice: the second read of each is a cache hit.')
read(1)
read(1)
read(2)
read(2)
console.log('\nRenaming customer 1 invalidates exactly that result:')
setCustomerName(1, 'Annabel')
read(1)
read(2)
console.log('\nDeleting every customer invalidates every result of GET_CUSTOMER_NAME:')
deleteAllCustomers()
read(1)
read(2)
await cache.close()
