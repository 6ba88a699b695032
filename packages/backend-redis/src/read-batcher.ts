/** One merged read: the distinct keys asked for in one tick, and who asked for which. */
interface Batch {
  readonly keys: string[]
  readonly slotOf: Map<string, number>
  readonly readers: Reader[]
}

interface Reader {
  readonly positions: number[]
  resolve(values: (Buffer | undefined)[]): void
  reject(error: unknown): void
}

/**
 * A key of a merged read that could not be read (its slot is migrating and even a single-key read of it
 * failed): only the readers of that key fail, every other reader of the batch gets its values.
 */
export class ReadFailure {
  constructor(readonly error: unknown) {}
}

/** What a merged read yields per key: the value, `null` for none, or the failure of that key alone. */
export type ReadResult = Buffer | null | ReadFailure

/** Keys per merged read: beyond it a new batch starts, so one reply never grows without bound. */
const MAX_KEYS_PER_BATCH = 2048

/**
 * Merges the reads issued in one tick into one `MGET`, each distinct key once.
 *
 * Under load most hits arrive together (the replies of one socket read resolve many calls in one tick),
 * and hits of one domain all read the same function and domain generations: merged, 64 concurrent hits
 * cost one command and about two keys each instead of 64 commands of four keys, which is what makes a
 * hit with its invalidation check as cheap as a bare `GET`.
 *
 * Still exact: the merged read is sent after every read it serves was issued (at the end of the tick), so
 * each still sees every write completed before it was issued. A lone read waits for nothing but the end
 * of the current tick (`process.nextTick`), not for a timer.
 */
export class ReadBatcher {
  private open: Batch | undefined

  constructor(private readonly send: (keys: string[]) => Promise<ReadResult[]>) {}

  read(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    let batch = this.open
    if (batch === undefined || batch.keys.length + keys.length > MAX_KEYS_PER_BATCH) {
      batch = { keys: [], slotOf: new Map(), readers: [] }
      this.open = batch
      const scheduled = batch
      process.nextTick(() => this.flush(scheduled))
    }
    const positions = new Array<number>(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      let slot = batch.slotOf.get(key)
      if (slot === undefined) {
        slot = batch.keys.length
        batch.keys.push(key)
        batch.slotOf.set(key, slot)
      }
      positions[i] = slot
    }
    const readers = batch.readers
    return new Promise((resolve, reject) => {
      readers.push({ positions, resolve, reject })
    })
  }

  private flush(batch: Batch): void {
    if (this.open === batch) this.open = undefined
    let sent: Promise<ReadResult[]>
    try {
      sent = this.send(batch.keys)
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(
      (values) => {
        readers: for (const reader of batch.readers) {
          const { positions } = reader
          const out = new Array<Buffer | undefined>(positions.length)
          for (let i = 0; i < positions.length; i++) {
            const value = values[positions[i]!]
            if (value instanceof ReadFailure) {
              reader.reject(value.error)
              continue readers
            }
            out[i] = value ?? undefined
          }
          reader.resolve(out)
        }
      },
      (error: unknown) => {
        for (const reader of batch.readers) reader.reject(error)
      },
    )
  }
}
