import type { BackendEntry } from '@rapide/core'
import { LocalMapBackend } from '../fixtures/local-map-backend.js'
import { FullSharedMapBackend, SharedMapBackend } from '../fixtures/shared-map-backend.js'

/** Forgets every TTL: values live forever. */
export class IgnoresTtlBackend extends LocalMapBackend {
  override set(key: string, value: unknown, _ttlMs: number | undefined): void {
    super.set(key, value, undefined)
  }
  override setNx(key: string, value: unknown, _ttlMs: number | undefined): boolean {
    return super.setNx(key, value, undefined)
  }
  override expire(key: string, _ttlMs: number | undefined): boolean {
    return super.expire(key, undefined)
  }
}

/** Lists and deletes by prefix without looking at the prefix: one domain's clear wipes the others. */
export class LeaksAcrossPrefixesBackend extends LocalMapBackend {
  override keys(_prefix: string): string[] {
    return super.keys('')
  }
  override deletePrefix(_prefix: string): number {
    return super.deletePrefix('')
  }
}

/** Claims to be shared, but every instance has a private store. */
export class FakeSharedBackend extends SharedMapBackend {
  private static instances = 0
  constructor() {
    super(`private-${FakeSharedBackend.instances++}-${Math.random()}`)
  }
}

/** Its `setGuarded` writes the guard whatever it held: a late result can win over an invalidation. */
export class OverwritesGuardBackend extends FullSharedMapBackend {
  override readonly name = 'overwrites-guard'
  protected override async guardedWrite(guard: BackendEntry, entry: BackendEntry): Promise<void> {
    await this.setMany([guard, entry])
  }
}

/** Its `close()` empties the store but leaves it open: reads answer "missing" instead of failing. */
export class AnswersAfterCloseBackend extends LocalMapBackend {
  override close(): void {
    this.data.clear()
  }
}

/** After `close()`, `get` never settles (a client that queues commands for a connection that is gone). */
export class HangsAfterCloseBackend extends FullSharedMapBackend {
  private gone = false
  override async get(key: string): Promise<Uint8Array | undefined> {
    if (this.gone) return new Promise(() => {})
    return super.get(key)
  }
  override async close(): Promise<void> {
    this.gone = true
    await super.close()
  }
}

/** Half of the listing group: `keys` without `deletePrefix`, which contract version 2 refuses. */
export class HalfListingBackend extends SharedMapBackend {
  async keys(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((key) => key.startsWith(prefix))
  }
}
