import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  ClosedError,
  CounterOverflowError,
  NotACounterError,
  OutcomeUnknownError,
} from '@rapide/core'
import type { Cluster, Redis } from 'ioredis'
import type { CircuitBreaker, CircuitState } from './circuit-breaker.js'
import { Deadlines, type Pending } from './deadlines.js'
import { hideCommandCredentials } from './hide-credentials.js'
import { isMigrationError } from './slots.js'

/** Client states in which a command would only wait in the offline queue: refuse it at once instead. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end'])
/** Errors Redis answers with while it cannot serve: the server is unavailable, not the request wrong. */
const UNAVAILABLE_REPLIES = /^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|BUSY|ASK|MOVED)\b/
/**
 * Operations whose outcome the caller cannot learn again by asking twice: an `INCRBY` applied and then
 * re-sent counts twice, a `SET NX` re-sent finds its own value and says "not stored", a compare-and-delete
 * re-sent says "not deleted". When their connection drops (or their time runs out) after they may have
 * reached Redis, they fail with `OutcomeUnknownError` instead of a result that may be wrong.
 */
const AT_MOST_ONCE = new Set(['incr', 'setNx', 'setGuarded', 'deleteIfEquals'])

/** The connection of an operation under way was lost before its reply came. */
class ConnectionLostError extends Error {
  constructor(operation: string) {
    super(`Redis ${operation}: the connection was lost before the reply`)
    this.name = 'ConnectionLostError'
  }
}

/**
 * What every Redis operation of the backend goes through, so that none of them can hang or fail
 * untyped:
 *
 * - refused at once (`ClosedError`) once the backend is closed, and (`BackendUnavailableError`) while the
 *   client is reconnecting or the circuit breaker is open: an outage costs nothing per call;
 * - bounded by the backend's `timeout` (one timer for all operations: {@link Deadlines}), and on a
 *   standalone client failed as soon as its connection closes;
 * - failures typed: `BackendTimeoutError`, `BackendUnavailableError` (no reply), `BackendError` (an error
 *   reply), and `OutcomeUnknownError` for an at-most-once operation that may have been applied;
 * - the breaker fed: a reply, even an error, proves the server alive; a timeout or a lost connection
 *   opens the circuit.
 *
 * Kept apart from the backend class so that each contract method there reads as the Redis command it
 * sends, and this policy is read (and changed) in one place.
 */
export class OperationEnvelope {
  private readonly deadlines: Deadlines
  /** On a standalone client: fails the operations under way when their connection closes. */
  private readonly onConnectionClosed: (() => void) | undefined
  private closed = false

  constructor(
    private readonly client: Redis | Cluster,
    timeoutMs: number,
    private readonly breaker: CircuitBreaker | undefined,
  ) {
    this.deadlines = new Deadlines(timeoutMs)
    if ((client as { isCluster?: boolean }).isCluster !== true) {
      // Without re-sending, ioredis drops the commands a closed connection left unanswered without
      // settling them: fail them now instead of at their deadline. (A cluster's nodes reject them.)
      this.onConnectionClosed = () =>
        this.deadlines.failAll((pending) => new ConnectionLostError(pending.operation))
      client.on('close', this.onConnectionClosed)
    }
  }

  /** Where the circuit breaker stands (`closed` when there is none). */
  get circuit(): CircuitState {
    return this.breaker?.state ?? 'closed'
  }

  get isClosed(): boolean {
    return this.closed
  }

  /**
   * From now on every operation rejects with `ClosedError`. Operations already sent still settle, by
   * their reply or their deadline (the connection-loss listener is removed: closing is not an outage).
   */
  close(): void {
    this.closed = true
    if (this.onConnectionClosed !== undefined) this.client.off('close', this.onConnectionClosed)
  }

  /** A rejection with `ClosedError` if the backend is closed, else `answer`: for calls that send nothing. */
  answer<T>(answer: T): Promise<T> {
    return this.closed ? Promise.reject(closedError()) : Promise.resolve(answer)
  }

  /**
   * Runs one operation within the time bound, through the circuit breaker, with typed errors:
   * `BackendUnavailableError` when Redis cannot be reached (or is known to be down), `BackendTimeoutError`
   * when it did not answer in time, `BackendError` when it answered with an error. `map` turns the reply
   * into the answer inside the same promise (one promise per operation, not two, on the hit path).
   */
  run<T>(operation: string, work: () => Promise<T>): Promise<T>
  run<T, R>(operation: string, work: () => Promise<T>, map: (value: T) => R): Promise<R>
  run<T, R>(operation: string, work: () => Promise<T>, map?: (value: T) => R): Promise<T | R> {
    if (this.closed) return Promise.reject(closedError())
    const status = this.client.status
    if (DOWN_STATES.has(status)) {
      return Promise.reject(
        new BackendUnavailableError(
          `Redis ${operation}: the connection is ${status}, not sending the command`,
        ),
      )
    }
    const { breaker, deadlines } = this
    if (breaker !== undefined && !breaker.admit()) {
      const cause = breaker.lastFailure
      const reason = cause instanceof Error ? cause.message : String(cause)
      return Promise.reject(
        new BackendUnavailableError(`Redis ${operation}: circuit open after a failure (${reason})`, cause),
      )
    }
    let started: Promise<T>
    try {
      started = work()
    } catch (error) {
      started = Promise.reject(error)
    }
    // Whether the command goes straight onto a live connection (else it waits for the first one).
    const live = status === 'ready'
    // One promise per operation: settled by the reply or, if that is late, by the deadline (or, on a
    // standalone client, by the loss of its connection).
    return new Promise<T | R>((resolve, reject) => {
      const pending: Pending = {
        operation,
        startedAt: Date.now(),
        settled: false,
        expire: (error) => {
          pending.settled = true
          const typed =
            error instanceof ConnectionLostError ? new BackendUnavailableError(error.message, error) : error
          breaker?.failed(typed)
          // Late or lost, the command may still have reached Redis (or reach it yet).
          reject(AT_MOST_ONCE.has(operation) ? new OutcomeUnknownError(operation, typed) : typed)
        },
      }
      deadlines.track(pending)
      started.then(
        (value) => {
          if (pending.settled) return
          pending.settled = true
          deadlines.done(pending)
          breaker?.succeeded()
          resolve(map === undefined ? value : map(value))
        },
        (error: unknown) => {
          if (pending.settled) return
          pending.settled = true
          deadlines.done(pending)
          const typed = this.classify(operation, error)
          const replied = isReply(error)
          // A reply (even an error) proves the server alive; so does a slot on the move, which concerns
          // the keys of that slot only: neither opens the circuit for everything else.
          if (replied || isMigrationError(error)) breaker?.succeeded()
          else breaker?.failed(typed)
          // No reply: a command sent on a live connection may have been applied before it dropped.
          const unknown = AT_MOST_ONCE.has(operation) && live && !replied && !isMigrationError(error)
          reject(
            unknown && !(typed instanceof BackendTimeoutError)
              ? new OutcomeUnknownError(operation, typed)
              : typed,
          )
        },
      )
    })
  }

  /** The typed error for a failure of `operation` (our own typed refusals pass through). */
  classify(operation: string, failure: unknown): Error {
    // Becomes the cause of ours, and so reaches logs and events: a failed AUTH must not carry the password.
    const error = hideCommandCredentials(failure)
    if (
      error instanceof BackendTimeoutError ||
      error instanceof NotACounterError ||
      error instanceof CounterOverflowError
    )
      return error
    const message = error instanceof Error ? error.message : String(error)
    const answered = isReply(error) && !UNAVAILABLE_REPLIES.test(message)
    if (answered) return new BackendError(operation, error)
    return new BackendUnavailableError(`Redis ${operation} failed: ${message}`, error)
  }
}

function closedError(): ClosedError {
  return new ClosedError('Redis backend')
}

/** An error Redis answered with (the command was received, and refused), or one of our typed refusals. */
function isReply(error: unknown): boolean {
  return (
    (error instanceof Error && error.name === 'ReplyError') ||
    error instanceof NotACounterError ||
    error instanceof CounterOverflowError
  )
}
