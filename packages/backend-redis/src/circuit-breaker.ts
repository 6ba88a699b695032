/** Where the breaker stands: `closed` lets calls through, `open` refuses them, `half-open` lets one trial through. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/**
 * A short circuit breaker. Once the server fails to answer (a timeout, a dropped connection), calls are
 * refused at once for `cooldownMs` instead of each waiting out the time bound; then one call is let
 * through as a trial, and its success closes the circuit again.
 *
 * Errors the server answered with (a wrong type, a script error) prove it is alive: they never open it.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed'
  private openedAt = 0
  /** Whether the one trial of the half-open state is under way. */
  private trialRunning = false
  /** The failure that opened the circuit, reported as the cause of refused calls. */
  lastFailure: unknown

  constructor(
    private readonly cooldownMs: number,
    private readonly onChange: (state: CircuitState) => void = () => {},
  ) {}

  get state(): CircuitState {
    return this.current
  }

  /** Whether a call may reach the server now. A `true` in the half-open state makes that call the trial. */
  admit(): boolean {
    if (this.current === 'closed') return true
    if (this.current === 'open') {
      if (Date.now() - this.openedAt < this.cooldownMs) return false
      this.move('half-open')
    }
    if (this.trialRunning) return false
    this.trialRunning = true
    return true
  }

  succeeded(): void {
    this.trialRunning = false
    if (this.current !== 'closed') this.move('closed')
  }

  failed(error: unknown): void {
    this.trialRunning = false
    this.lastFailure = error
    this.openedAt = Date.now()
    if (this.current !== 'open') this.move('open')
  }

  private move(state: CircuitState): void {
    this.current = state
    this.onChange(state)
  }
}
