import { formatCount, formatDuration } from './format/units.js'
import type { Terminal } from './terminal.js'

/** A redraw at most this often: enough to look alive, cheap next to a million keys. */
const REDRAW_MS = 100

/**
 * One line on stderr redrawn in place while a long operation runs: how many done, of how many when
 * known (with a percentage and the time left), and the rate. Drawn only on a terminal: a script or a CI
 * log gets no progress noise, only the result on stdout.
 */
export class Progress {
  private done = 0
  private readonly started = performance.now()
  private lastDraw = 0
  private drawn = false

  constructor(
    private readonly terminal: Terminal,
    private readonly label: string,
    private total: number | undefined,
    private readonly unit = 'keys',
  ) {}

  /** The total became known (or changed). */
  setTotal(total: number): void {
    this.total = total
  }

  advance(by: number): void {
    this.done += by
    const now = performance.now()
    if (now - this.lastDraw >= REDRAW_MS) {
      this.lastDraw = now
      this.draw(now)
    }
  }

  get count(): number {
    return this.done
  }

  get elapsedMs(): number {
    return performance.now() - this.started
  }

  /** Erases the line, so what comes next (the result, an error) starts on a clean one. */
  finish(): void {
    if (this.drawn) process.stderr.write('\r\u001b[2K')
    this.drawn = false
  }

  private draw(now: number): void {
    if (!this.terminal.interactiveErr) return
    const c = this.terminal.errColor
    const seconds = (now - this.started) / 1000
    const rate = seconds > 0 ? this.done / seconds : 0
    const parts = [`${c.cyan(this.label)} ${formatCount(this.done)}`]
    const { total } = this
    if (total !== undefined && total > 0) {
      const share = Math.min(100, (this.done / total) * 100)
      parts[0] += ` / ${formatCount(total)} ${this.unit} (${share.toFixed(share < 10 ? 1 : 0)}%)`
    } else {
      parts[0] += ` ${this.unit}`
    }
    if (seconds >= 0.5) parts.push(`${formatCount(Math.round(rate))} ${this.unit}/s`)
    if (total !== undefined && rate > 0 && this.done < total) {
      parts.push(`${formatDuration(((total - this.done) / rate) * 1000)} left`)
    }
    process.stderr.write(`\r\u001b[2K${parts.join(c.dim(' · '))}`)
    this.drawn = true
  }
}
