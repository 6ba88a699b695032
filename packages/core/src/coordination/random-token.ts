import { randomFillSync } from 'node:crypto'

/** Random bytes drawn in blocks: one system call per 455 tokens instead of one per token (a miss makes one). */
const pool = Buffer.alloc(4095)
let used = pool.length
const TOKEN_BYTES = 9

/**
 * A fresh random token, for generations and lock ownership. Shared generations are random, never
 * counters: a generation key that is evicted, expires or is cleared comes back as a new random token, so
 * an entry stamped before can never match again (a counter restarting at 0 would revive invalidated
 * entries). Each token takes bytes of the pool no other token had: 72 random bits.
 */
export function randomToken(): string {
  if (used + TOKEN_BYTES > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  const token = pool.toString('base64url', used, used + TOKEN_BYTES)
  used += TOKEN_BYTES
  return token
}
