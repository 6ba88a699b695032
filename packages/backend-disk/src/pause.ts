const cell = new Int32Array(new SharedArrayBuffer(4))

/**
 * Blocks this thread for `ms` milliseconds (fractions allowed) without spinning: the backend is
 * synchronous, so waiting for another process's lock cannot yield to the event loop.
 */
export function pause(ms: number): void {
  Atomics.wait(cell, 0, 0, ms)
}
