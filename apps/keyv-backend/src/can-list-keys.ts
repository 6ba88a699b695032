// #region can-list-keys
import { KeyvMemoryAdapter, type KeyvStorageAdapter } from 'keyv'

/**
 * Whether Keyv can list the keys of this store. Keyv always has an `iterator()`, but over a store that
 * cannot iterate it silently yields nothing, and a listing that finds nothing would make `clear()` and
 * `deletePattern()` succeed without removing anything. So we look at what is under it: a `Map`-like store
 * iterates through its `entries()`, any other store declares an `iterator` among its capabilities.
 */
export function canListKeys(store: KeyvStorageAdapter): boolean {
  if (store instanceof KeyvMemoryAdapter) {
    return typeof (store.store as { entries?: unknown }).entries === 'function'
  }
  return store.capabilities?.methods.iterator.exists ?? typeof store.iterator === 'function'
}
// #endregion can-list-keys
