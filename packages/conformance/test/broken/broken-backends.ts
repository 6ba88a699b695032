import { MemoryBackend } from '@rapide/backend-memory'
import type { BackendEntry } from '@rapide/core'
import { FullSharedMapBackend, SharedMapBackend } from '../fixtures/shared-map-backend.js'

/** Forgets every TTL: values live forever. */
export class IgnoresTtlBackend extends MemoryBackend {
  override set(key: string, value: unknown, _ttlMs: number | undefined): void {
    super.set(key, value, undefined)
  }
  override setNx(key: string, value: unknown, _ttlMs: number | undefined): boolean {
    return super.setNx(key, value, undefined)
  }
  override setIn(namespace: string, key: string, value: unknown, _ttlMs: number | undefined): void {
    super.setIn(namespace, key, value, undefined)
  }
}

/** Lists and deletes by prefix without looking at the prefix: one domain's clear wipes the others. */
export class LeaksAcrossPrefixesBackend extends MemoryBackend {
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
  override readonly name = 'overwrites-guard' as 'shared-map-full'
  override async setGuarded(guard: BackendEntry, entry: BackendEntry): Promise<void> {
    await this.setMany([guard, entry])
  }
}
