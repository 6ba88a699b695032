import { randomBytes } from 'node:crypto'
import type { AnyBackend } from '@rapide/core'
import { afterAll } from 'vitest'
import type { ConformanceOptions } from './options.js'

/** Creates instances for tests and destroys them when the suite ends. */
export class Harness<B extends AnyBackend> {
  private readonly created: B[] = []

  constructor(readonly options: ConformanceOptions<B>) {
    afterAll(async () => {
      const destroy = options.destroy ?? ((backend: B) => backend.close?.())
      for (const backend of this.created.splice(0)) await destroy(backend)
    })
  }

  backend(): B {
    const backend = this.options.create()
    this.created.push(backend)
    return backend
  }

  /**
   * A fresh instance as another process would hold it: over the same store, but without the `storeId`
   * that lets the core recognise instances of one store within a process (and refuse a function key
   * wrapped twice there). Two processes never share that registry, so the two-instance checks, which
   * play two processes, must not either.
   */
  backendOfAnotherProcess(): B {
    return asAnotherProcess(this.backend())
  }

  get ttlUnitMs(): number {
    return Math.max(1, this.options.ttlGranularityMs ?? 1)
  }
}

/** `backend` with its `storeId` hidden; every other member is the backend's own. */
export function asAnotherProcess<B extends AnyBackend>(backend: B): B {
  if (backend.storeId === undefined) return backend
  return new Proxy(backend, {
    get(target, property) {
      if (property === 'storeId') return undefined
      const value: unknown = Reflect.get(target, property, target)
      // Methods run on the backend itself: private fields need the real `this`.
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** A unique name, so tests never see each other's keys and no global flush is needed. */
export function uniqueName(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Bytes of a string, the values a byte-storing backend receives. */
export function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text))
}

/** A value a backend may store: bytes, or any value for `inProcessValues` backends. */
export function sample(backend: AnyBackend, text: string): unknown {
  return backend.capabilities.inProcessValues ? { text } : bytes(text)
}

export function sameStored(backend: AnyBackend, actual: unknown, expected: unknown): boolean {
  if (backend.capabilities.inProcessValues) return actual === expected
  return actual instanceof Uint8Array && Buffer.from(actual).equals(Buffer.from(expected as Uint8Array))
}

/** A deferred promise, for holding a computation open while a test does something else. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
