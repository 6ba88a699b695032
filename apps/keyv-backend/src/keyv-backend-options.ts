// #region options
import type Keyv from 'keyv'

/** Options of {@link KeyvBackend}. */
export interface KeyvBackendOptions {
  /**
   * The Keyv to store in, over any Keyv store (a `Map`, `keyv-file`, `@keyv/sqlite`...), with its
   * namespace and its serializer, compression or encryption. Default: `new Keyv()`, an in-memory `Map`.
   * A Keyv you pass stays yours: `close()` does not disconnect it.
   */
  keyv?: Keyv
  /**
   * Whether the Keyv's store outlives the process (a file, a database). Default: false, right for the
   * in-memory `Map`. Say true for a store on disk: the cache then knows a restart keeps its results.
   */
  persistent?: boolean
}
// #endregion options
