import { cpus } from 'node:os'

export interface Row {
  readonly subject: string
  readonly hitNs: number | undefined
  readonly missNs: number | undefined
  /** Hit time per call with many calls in flight (remote backends), when measured. */
  readonly hitInFlightNs?: number | undefined
}

export interface Target {
  readonly description: string
  readonly measured: number
  readonly goal: number
}

export function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU'
  return `Node ${process.version}, ${cpus().length} × ${cpu}, ${process.platform}/${process.arch}`
}

const fmt = (ns: number | undefined) =>
  ns === undefined ? '–' : ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`
const ops = (ns: number | undefined) =>
  ns === undefined ? '–' : `${(1e9 / ns).toLocaleString('en-US', { maximumFractionDigits: 0 })}`

export function markdownTable(rows: readonly Row[], inFlight?: number): string {
  if (inFlight !== undefined) {
    const lines = [
      `| subject | hit, 1 in flight | hit ops/s | hit, ${inFlight} in flight | hit ops/s | miss, 1 in flight | miss ops/s |`,
      '|---|---:|---:|---:|---:|---:|---:|',
    ]
    for (const r of rows)
      lines.push(
        `| ${r.subject} | ${fmt(r.hitNs)} | ${ops(r.hitNs)} | ${fmt(r.hitInFlightNs)} | ${ops(r.hitInFlightNs)} | ${fmt(r.missNs)} | ${ops(r.missNs)} |`,
      )
    return lines.join('\n')
  }
  const lines = [
    '| subject | hit (per call) | hit ops/s | miss (per call) | miss ops/s |',
    '|---|---:|---:|---:|---:|',
  ]
  for (const r of rows)
    lines.push(`| ${r.subject} | ${fmt(r.hitNs)} | ${ops(r.hitNs)} | ${fmt(r.missNs)} | ${ops(r.missNs)} |`)
  return lines.join('\n')
}

export function targetsTable(targets: readonly Target[]): string {
  const lines = ['| target | measured | goal | met |', '|---|---:|---:|:---:|']
  for (const t of targets) {
    lines.push(
      `| ${t.description} | ${t.measured.toFixed(2)}× | ≥ ${t.goal}× | ${t.measured >= t.goal ? 'yes' : '**no**'} |`,
    )
  }
  return lines.join('\n')
}

/** A horizontal bar chart of hit throughput, one bar per subject, as a standalone SVG. */
export function hitChartSvg(rows: readonly Row[], title: string, subtitle: string): string {
  const measured = rows.filter((r) => r.hitNs !== undefined)
  const max = Math.max(...measured.map((r) => 1e9 / r.hitNs!))
  const barHeight = 22
  const left = 330
  const width = 900
  const top = 56
  const height = top + measured.length * (barHeight + 8) + 24
  const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const bars = measured.map((r, i) => {
    const value = 1e9 / r.hitNs!
    const w = Math.max(1, ((width - left - 120) * value) / max)
    const y = top + i * (barHeight + 8)
    const color = r.subject.startsWith('rapide') ? '#d9480f' : '#868e96'
    return [
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(r.subject)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color}" rx="3"/>`,
      `<text x="${left + w + 6}" y="${y + 15}" font-size="12">${opsLabel(value)}</text>`,
    ].join('')
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="16" y="42" font-size="11" fill="#555">${escapeXml(subtitle)} — operations per second, higher is better</text>`,
    ...bars,
    '</svg>',
  ].join('\n')
}

function opsLabel(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M ops/s`
  return `${(opsPerSecond / 1e3).toFixed(opsPerSecond >= 1e4 ? 0 : 1)} k ops/s`
}
