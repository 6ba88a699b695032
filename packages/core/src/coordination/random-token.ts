import { randomBytes } from 'node:crypto'

/**
 * A fresh random token, for generations and lock ownership. Shared generations are random, never
 * counters: a generation key that is evicted, expires or is cleared comes back as a new random token, so
 * an entry stamped before can never match again (a counter restarting at 0 would revive invalidated
 * entries).
 */
export function randomToken(): string {
  return randomBytes(9).toString('base64url')
}
