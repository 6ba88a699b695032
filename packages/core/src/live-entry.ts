/**
 * A cached result as kept by an `inProcessValues` backend: the value itself (no serialization) plus the
 * local generations it was computed under, when it was stored and how long it took to compute.
 */
export class LiveEntry {
  constructor(
    readonly value: unknown,
    readonly async: boolean,
    readonly domainGeneration: number,
    readonly functionGeneration: number,
    /** Milliseconds since the epoch. */
    readonly storedAt: number,
    readonly computeMs: number,
  ) {}

  /** Never-die's record of this call (see `KeepAlive`), so a hit on it finds it without a lookup. */
  kept: object | undefined = undefined
}

/** A key-value API value on an `inProcessValues` backend (boxed so `undefined` can be stored). */
export class LiveValue {
  constructor(readonly value: unknown) {}
}
