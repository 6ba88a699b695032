/**
 * A store written like the Keyv ecosystem's network and database adapters (`@keyv/sqlite`, `@keyv/redis`
 * before v6): asynchronous, with a relative `ttl` and an `iterator(namespace)`. Keyv wraps it in its
 * bridge adapter. Every call answers after a macrotask, so operations interleave as they would over a
 * network (after `delayMs`, or a microtask with 0), and `failing` makes every call reject.
 */
export class SlowAsyncStore {
  constructor(private readonly delayMs = 1) {}

  readonly data = new Map<string, { value: unknown; expiresAt: number | undefined }>()
  failing = false
  calls = 0

  async get(key: string): Promise<unknown> {
    await this.tick()
    const entry = this.data.get(key)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.data.delete(key)
      return undefined
    }
    return entry?.value
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.tick()
    this.data.set(key, { value, expiresAt: ttl === undefined ? undefined : Date.now() + ttl })
    return true
  }

  async delete(key: string): Promise<boolean> {
    await this.tick()
    return this.data.delete(key)
  }

  async clear(): Promise<void> {
    await this.tick()
    this.data.clear()
  }

  async *iterator(): AsyncGenerator<[string, unknown]> {
    await this.tick()
    for (const [key, entry] of [...this.data]) yield [key, entry.value]
  }

  private async tick(): Promise<void> {
    this.calls++
    await (this.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.delayMs)) : null)
    if (this.failing) throw new Error('store unavailable')
  }
}
