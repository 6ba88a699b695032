import { RedisBackend } from '@rapide/backend-redis'
import { createCache } from '@rapide/core'
import { COMPUTE_MS, type FromWorker, type ToWorker } from './stampede.js'
import { type Customer, loadCustomer } from './workload.js'

/**
 * One process of the stampede row (`src/stampede.ts` forks four): a cache on the shared Redis, the same
 * slow function wrapped with and without the cross-process lock. On `go` it makes `calls` concurrent calls
 * for one cold key at once and answers with how many computations this process ran and how long each call
 * took from `go`.
 */
const url = process.argv[2]
if (url === undefined || process.send === undefined) {
  console.error('stampede-worker: forked by src/stampede.ts with the Redis URL as its argument')
  process.exit(2)
}
const send = (message: FromWorker) => process.send!(message)

const backend = new RedisBackend({ url })
const cache = createCache({ domainKey: 'STAMPEDE', backend, defaultTtl: '1h' })
let computations = 0
const compute = async (id: number): Promise<Customer> => {
  computations++
  await new Promise((resolve) => setTimeout(resolve, COMPUTE_MS))
  return loadCustomer(id)
}
const withoutLock = cache.wrap('COLD', compute)
const withLock = cache.wrap('COLD_LOCKED', compute, { lock: true })

process.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    void cache
      .close()
      .then(() => backend.close())
      .finally(() => process.exit(0))
    return
  }
  const startedAt = performance.timeOrigin + performance.now()
  const started = performance.now()
  const before = computations
  const call = message.lock ? withLock : withoutLock
  Promise.all(
    Array.from({ length: message.calls }, async () => {
      await call(message.id)
      return performance.now() - started
    }),
  ).then(
    (latenciesMs) => send({ type: 'done', computations: computations - before, latenciesMs, startedAt }),
    (error: unknown) =>
      send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  )
})

// The connection is open and both paths have run once (a key of this process's own) before the row starts.
try {
  const own = -1 - process.pid
  await withoutLock(own)
  await withLock(own)
  send({ type: 'ready' })
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) })
}
