/**
 * Throughput of one operation, measured in batches so timer overhead does not swamp sub-microsecond
 * operations: each round runs a batch lasting about `roundMs`, and the median of the rounds is reported.
 */
export interface Measurement {
  readonly opsPerSecond: number
  readonly nsPerOp: number
}

export interface MeasureOptions {
  rounds: number
  roundMs: number
}

/** One call in flight: asynchronous operations are awaited one after another. */
export function measure(
  operation: (i: number) => unknown,
  isAsync: boolean,
  options: MeasureOptions,
): Promise<Measurement> {
  let counter = 0
  return medianOfRounds(async (n) => {
    if (isAsync) for (let i = 0; i < n; i++) await operation(counter++)
    else for (let i = 0; i < n; i++) operation(counter++)
    return n
  }, options)
}

/**
 * `inFlight` calls under way at once (each of `inFlight` lanes awaits its calls one after another): the
 * time per call is the batch's wall time divided by its calls. This is how a server uses a remote cache,
 * and where pipelining on one connection shows.
 */
export function measureInFlight(
  operation: (i: number) => unknown,
  inFlight: number,
  options: MeasureOptions,
): Promise<Measurement> {
  let counter = 0
  return medianOfRounds(async (n) => {
    const perLane = Math.ceil(n / inFlight)
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = 0; i < perLane; i++) await operation(counter++)
      }),
    )
    return perLane * inFlight
  }, options)
}

/**
 * Warms up (JIT, caches) while sizing a batch to last about `roundMs`, then times `rounds` batches and
 * returns the median time per call. `runBatch(n)` runs about `n` calls and returns how many it ran.
 */
async function medianOfRounds(
  runBatch: (n: number) => Promise<number>,
  { rounds, roundMs }: MeasureOptions,
): Promise<Measurement> {
  const timed = async (n: number) => {
    const started = process.hrtime.bigint()
    const calls = await runBatch(n)
    return Number(process.hrtime.bigint() - started) / calls
  }
  let batch = 64
  while ((await timed(batch)) * batch < roundMs * 1e6 * 0.25 && batch < 1 << 26) batch *= 2
  batch *= 4
  const samples: number[] = []
  for (let r = 0; r < rounds; r++) samples.push(await timed(batch))
  samples.sort((a, b) => a - b)
  const nsPerOp = samples[Math.floor(samples.length / 2)]!
  return { nsPerOp, opsPerSecond: 1e9 / nsPerOp }
}

/**
 * `rounds` batches of exactly `batch` calls (one in flight) after one warm-up batch, median time per call.
 * For operations whose side effects pile up with their number (each invalidation may start background
 * work), where sizing batches to a duration would measure the pile-up. `firstNs` is the very first
 * call alone (one sample: only an order of magnitude).
 */
export async function measureFixed(
  operation: () => unknown,
  isAsync: boolean,
  { rounds, batch }: { rounds: number; batch: number },
): Promise<Measurement & { readonly firstNs: number }> {
  const started = process.hrtime.bigint()
  const first = operation()
  if (isAsync) await first
  const firstNs = Number(process.hrtime.bigint() - started)
  const timed = async () => {
    const started = process.hrtime.bigint()
    if (isAsync) for (let i = 0; i < batch; i++) await operation()
    else for (let i = 0; i < batch; i++) operation()
    return Number(process.hrtime.bigint() - started) / batch
  }
  await timed()
  const samples: number[] = []
  for (let r = 0; r < rounds; r++) samples.push(await timed())
  samples.sort((a, b) => a - b)
  const nsPerOp = samples[Math.floor(samples.length / 2)]!
  return { nsPerOp, opsPerSecond: 1e9 / nsPerOp, firstNs }
}
