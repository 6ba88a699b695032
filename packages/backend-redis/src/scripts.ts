import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'

/**
 * A Lua script sent by its SHA-1 (`EVALSHA`) and, the first time a server does not know it (`NOSCRIPT`,
 * e.g. after a restart or on another cluster node), by its text. Scripts are the atomic read-then-write
 * steps of the contract. A script's keys must share a hash slot to run on a cluster: most touch one key,
 * `setGuardedScript` two that the caller has checked are in one slot.
 */
export class LuaScript {
  private readonly sha: string

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run(
    client: Redis | Cluster,
    keys: readonly string[],
    args: readonly (string | Buffer | Uint8Array)[],
  ): Promise<unknown> {
    const argv = args.map((a) =>
      typeof a === 'string' ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    )
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...argv)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return client.eval(this.source, keys.length, ...keys, ...argv)
    }
  }
}

/** Deletes the key only if it holds exactly ARGV[1] (a lock released by its owner only). */
export const deleteIfEqualsScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

/**
 * INCRBY that gives a new counter its TTL (ARGV[2], ms, empty for none) and leaves an existing one's alone,
 * and refuses a result outside ±2^53-1 (JavaScript's safe integers), leaving the counter as it was.
 *
 * Exact although Lua numbers are doubles: INCRBY computes in 64-bit integers (and errors beyond them),
 * and every integer up to 2^53 is a double, so a result of 2^53 or more never compares as 2^53-1 or
 * less. The refused increment is undone in the same script (DECRBY, or DEL of a counter it created),
 * which no client can observe in between.
 */
export const incrScript = new LuaScript(`
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value > 9007199254740991 or value < -9007199254740991 then
  if existed == 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('DECRBY', KEYS[1], ARGV[1])
  end
  return redis.error_reply('RAPIDE_COUNTER_OVERFLOW')
end
if existed == 0 and ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value`)

/** Sets (ARGV[1], ms) or, when empty, removes the TTL of an existing key; 1 if the key existed. */
export const expireScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[1] == '' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1`)

/**
 * `setGuarded` in one step: creates the guard (KEYS[1]) with ARGV[1] if it is absent (TTL ARGV[2] ms,
 * empty for none), then stores the entry (KEYS[2]) with ARGV[3] (TTL ARGV[4] ms, empty for none), unless
 * the guard holds another value. That entry would be stamped with a token the guard no longer holds, so
 * no reader would accept it, and writing it would replace an entry a reader does accept (a computation
 * finishing after a newer one, or after a refresh): a lost write. Returns 1 if the entry was stored.
 * A guard that already holds ARGV[1] (this same write, applied before) lets the entry through.
 */
export const setGuardedScript = new LuaScript(`
local created
if ARGV[2] == '' then
  created = redis.call('SET', KEYS[1], ARGV[1], 'NX')
else
  created = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
end
if not created and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[2], ARGV[3])
else
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
return 1`)
