/**
 * Throughput of one operation, measured in batches so timer overhead does not swamp sub-microsecond
 * operations: each round runs the operation in a tight loop for about `roundMs`, and the median of the
 * rounds is reported. Asynchronous operations are awaited one after another (one call in flight).
 */
export interface Measurement {
  readonly opsPerSecond: number
  readonly nsPerOp: number
}

export interface MeasureOptions {
  rounds: number
  roundMs: number
}

export async function measure(
  operation: (i: number) => unknown,
  isAsync: boolean,
  { rounds, roundMs }: MeasureOptions,
): Promise<Measurement> {
  let counter = 0
  const runBatch = async (n: number): Promise<number> => {
    const started = process.hrtime.bigint()
    if (isAsync) for (let i = 0; i < n; i++) await operation(counter++)
    else for (let i = 0; i < n; i++) operation(counter++)
    return Number(process.hrtime.bigint() - started)
  }
  // Warm up (JIT, caches) and size a batch to last about roundMs.
  let batch = 64
  while ((await runBatch(batch)) < roundMs * 1e6 * 0.25 && batch < 1 << 26) batch *= 2
  batch *= 4
  const samples: number[] = []
  for (let r = 0; r < rounds; r++) samples.push((await runBatch(batch)) / batch)
  samples.sort((a, b) => a - b)
  const nsPerOp = samples[Math.floor(samples.length / 2)]!
  return { nsPerOp, opsPerSecond: 1e9 / nsPerOp }
}

/**
 * Throughput with `inFlight` calls under way at once (each of `inFlight` lanes awaits its calls one after
 * another): the time per call is the batch's wall time divided by its calls. This is how a server uses a
 * remote cache, and where pipelining on one connection shows.
 */
export async function measureInFlight(
  operation: (i: number) => unknown,
  inFlight: number,
  { rounds, roundMs }: MeasureOptions,
): Promise<Measurement> {
  let counter = 0
  const runBatch = async (perLane: number): Promise<number> => {
    const started = process.hrtime.bigint()
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = 0; i < perLane; i++) await operation(counter++)
      }),
    )
    return Number(process.hrtime.bigint() - started)
  }
  let perLane = 4
  while ((await runBatch(perLane)) < roundMs * 1e6 * 0.25 && perLane < 1 << 20) perLane *= 2
  perLane *= 4
  const samples: number[] = []
  for (let r = 0; r < rounds; r++) samples.push((await runBatch(perLane)) / (perLane * inFlight))
  samples.sort((a, b) => a - b)
  const nsPerOp = samples[Math.floor(samples.length / 2)]!
  return { nsPerOp, opsPerSecond: 1e9 / nsPerOp }
}
