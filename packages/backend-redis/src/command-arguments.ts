import type { Cluster, Redis } from 'ioredis'

/** ioredis takes Buffers: a Uint8Array is viewed, not copied. */
export function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** `PX` needs a positive integer: a sub-millisecond TTL is rounded up to 1 ms. */
export function positiveMs(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs))
}

/** A TTL as a script argument: milliseconds, or empty for none (the scripts read '' as "no expiry"). */
export function scriptTtl(ttlMs: number | undefined): string {
  return ttlMs === undefined ? '' : String(positiveMs(ttlMs))
}

/**
 * `SET key value [PX ttl] [NX]`, with the contract's TTL semantics: no TTL clears a previous expiry
 * (a plain `SET` does), rather than keeping it.
 */
export function setCommand(
  client: Redis | Cluster,
  key: string,
  value: Uint8Array,
  ttlMs: number | undefined,
  onlyIfAbsent: boolean,
): Promise<'OK' | null> {
  const bytes = toBuffer(value)
  if (ttlMs === undefined) return onlyIfAbsent ? client.set(key, bytes, 'NX') : client.set(key, bytes)
  const px = positiveMs(ttlMs)
  return onlyIfAbsent ? client.set(key, bytes, 'PX', px, 'NX') : client.set(key, bytes, 'PX', px)
}
