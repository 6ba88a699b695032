import { describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'
import { GuardedStoreBackend, SharedStoreBackend, SyncMapBackend } from './support/backends.js'

type Store = Map<string, { value: Uint8Array; expiresAt: number }>
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A function whose computations take `slowMs` until `fast` is set, and return the current `version`. */
function versioned() {
  const state = { version: 1, slowMs: 150 }
  const fn = async (n: number) => {
    const seen = state.version
    await sleep(state.slowMs)
    return `v${seen}-${n}`
  }
  return { state, fn }
}

describe('refresh() supersedes every computation that started before it', () => {
  for (const [name, make] of [
    ['local coordination', () => new SyncMapBackend()],
    ['shared coordination', () => new SharedStoreBackend(new Map())],
    ['shared coordination with setGuarded', () => new GuardedStoreBackend(new Map())],
  ] as const) {
    it(`in one process (${name})`, async () => {
      const cache = createCache({ domainKey: 'R', backend: make() })
      const { state, fn } = versioned()
      const f = cache.wrap('F', fn)
      await cache.wrap('WARM', async () => 0)()
      const older = f(1) // slow, computes v1
      await sleep(20)
      state.version = 2
      state.slowMs = 0
      expect(await f.refresh(1)).toBe('v2-1')
      expect(await older).toBe('v1-1')
      await sleep(10)
      expect(await f(1)).toBe('v2-1')
    })
  }

  for (const Backend of [SharedStoreBackend, GuardedStoreBackend]) {
    it(`across processes (${Backend.name})`, async () => {
      const store: Store = new Map()
      const a = createCache({ domainKey: 'R', backend: new Backend(store) })
      const b = createCache({ domainKey: 'R', backend: new Backend(store) })
      const { state, fn } = versioned()
      const fa = a.wrap('F', fn)
      const fb = b.wrap('F', fn)
      await fa(0)
      const older = fa(1)
      await sleep(20)
      state.version = 2
      state.slowMs = 0
      expect(await fb.refresh(1)).toBe('v2-1')
      await older
      await sleep(10) // the late store, if any, has landed
      expect(await fb(1)).toBe('v2-1')
      expect(await fa(1)).toBe('v2-1')
    })
  }
})
