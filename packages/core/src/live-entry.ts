/**
 * A cached result as kept by an `inProcessValues` backend: the value itself (no serialization) plus the
 * local generations it was computed under.
 */
export class LiveEntry {
  constructor(
    readonly value: unknown,
    readonly async: boolean,
    readonly domainGeneration: number,
    readonly functionGeneration: number,
  ) {}
}

/** A key-value API value on an `inProcessValues` backend (boxed so `undefined` can be stored). */
export class LiveValue {
  constructor(readonly value: unknown) {}
}
