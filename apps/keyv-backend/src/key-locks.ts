// #region key-locks
/**
 * One operation at a time per key, within this process. An operation that touches several keys waits
 * for all of them and holds all of them; it queues on every key in the same synchronous step, so two
 * operations always meet in the same order on every key they share, and none can deadlock.
 *
 * @example
 * const locks = KeyLocks.of(keyv.store)
 * await locks.run(['a', 'b'], async () => { ... }) // nothing else touches 'a' or 'b' meanwhile
 */
export class KeyLocks {
  private static readonly byStore = new WeakMap<object, KeyLocks>()

  /** The locks of one store, shared by every backend over it in this process. */
  static of(store: object): KeyLocks {
    let locks = KeyLocks.byStore.get(store)
    if (locks === undefined) {
      locks = new KeyLocks()
      KeyLocks.byStore.set(store, locks)
    }
    return locks
  }

  /** The last queued operation of each busy key; a key without an entry is free. */
  private readonly tails = new Map<string, Promise<void>>()

  run<T>(keys: readonly string[], operation: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)]
    const previous: Promise<void>[] = []
    for (const key of unique) {
      const tail = this.tails.get(key)
      if (tail !== undefined) previous.push(tail)
    }
    const result = previous.length === 0 ? operation() : Promise.all(previous).then(operation)
    const done = result.then(
      () => undefined,
      () => undefined,
    )
    for (const key of unique) this.tails.set(key, done)
    void done.then(() => {
      for (const key of unique) if (this.tails.get(key) === done) this.tails.delete(key)
    })
    return result
  }
}
// #endregion key-locks
