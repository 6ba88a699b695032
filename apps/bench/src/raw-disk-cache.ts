import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { loadCustomer } from './workload.js'

const HOUR_MS = 3_600_000
/** Bytes before the value: its expiry time, a little-endian float64 of epoch milliseconds. */
const HEADER_BYTES = 8

/**
 * The raw file cache the disk group compares against: what a careful hand-written cache does with
 * `node:fs`, one file per key in one folder. A hit is `readFileSync` of the key's file, an expiry check
 * and `node:v8` deserialize (rapide's default serializer); a miss computes, writes the expiry and the
 * serialized value to a temporary file of its own and `renameSync`s it over the key's file, so a reader
 * never sees half a file. No checksum, no invalidation, no hashing of keys (the key is the file name),
 * no fsync: the floor a cache over files can reach.
 */
export function rawDiskCache(directory: string) {
  let written = 0
  const pathOf = (id: number) => join(directory, `customer-${id}`)
  const store = (id: number, value: unknown) => {
    const path = pathOf(id)
    const body = serialize(value)
    const file = Buffer.allocUnsafe(HEADER_BYTES + body.length)
    file.writeDoubleLE(Date.now() + HOUR_MS, 0)
    body.copy(file, HEADER_BYTES)
    // Unique per process and write: two writers never share a temporary file.
    const temporary = `${path}.${process.pid}.${written++}.tmp`
    writeFileSync(temporary, file)
    renameSync(temporary, path)
  }
  const call = (id: number): unknown => {
    try {
      const file = readFileSync(pathOf(id))
      if (file.length > HEADER_BYTES && file.readDoubleLE(0) > Date.now())
        return deserialize(file.subarray(HEADER_BYTES))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    const value = loadCustomer(id)
    store(id, value)
    return value
  }
  return {
    call,
    /** Writes `id`'s entry without looking first (fills the scale run's reference). */
    store: (id: number) => store(id, loadCustomer(id)),
  }
}
