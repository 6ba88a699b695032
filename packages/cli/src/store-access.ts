import type { Backend } from '@rapide/core'
import { CliError, ExitCode } from './exit-codes.js'

/** Keys listed by prefix: all at once from a synchronous store (the total is then known), or as a stream. */
export type Listing =
  | { readonly kind: 'all'; readonly keys: readonly string[] }
  | { readonly kind: 'stream'; readonly keys: AsyncIterable<string> }

/**
 * Lists the keys under `prefix`. SQLite and disk answer with an array (their listing is one query or one
 * directory pass), Redis with a SCAN stream that tolerates deletes while it runs.
 */
export async function listKeys(backend: Backend<unknown>, prefix: string, label: string): Promise<Listing> {
  if (typeof backend.keys !== 'function') {
    throw new CliError(`${label}: the ${backend.name} backend cannot list keys`, ExitCode.failed)
  }
  const listed = await (backend.keys(prefix) as
    | Iterable<string>
    | Promise<Iterable<string>>
    | AsyncIterable<string>)
  if (Array.isArray(listed)) return { kind: 'all', keys: listed }
  if (Symbol.asyncIterator in listed) return { kind: 'stream', keys: listed }
  return { kind: 'all', keys: [...listed] }
}

/** The keys of a listing in batches of at most `size`. */
export async function* batchesOf(listing: Listing, size: number): AsyncIterable<string[]> {
  if (listing.kind === 'all') {
    for (let i = 0; i < listing.keys.length; i += size) yield listing.keys.slice(i, i + size)
    return
  }
  let batch: string[] = []
  for await (const key of listing.keys) {
    batch.push(key)
    if (batch.length >= size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}

/** Reads several keys in one round trip where the backend can. */
export async function readMany(backend: Backend<unknown>, keys: readonly string[]): Promise<unknown[]> {
  if (keys.length === 0) return []
  if (typeof backend.getMany === 'function') return await backend.getMany(keys)
  const values: unknown[] = []
  for (const key of keys) values.push(await backend.get(key))
  return values
}

/** Removes several keys in one round trip where the backend can; answers how many existed. */
export async function deleteMany(backend: Backend<unknown>, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0
  if (typeof backend.deleteMany === 'function') return await backend.deleteMany(keys)
  let removed = 0
  for (const key of keys) if (await backend.delete(key)) removed++
  return removed
}

/** How many bytes a stored value takes (a live value of an in-process store counts as 0). */
export function sizeOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength
  if (typeof value === 'string') return Buffer.byteLength(value)
  return 0
}
