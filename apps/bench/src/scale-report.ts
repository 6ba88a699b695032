import { SCALE_GOAL, type ScaleReport } from './scale.js'

const fmt = (ns: number | undefined) =>
  ns === undefined ? '–' : ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`
const count = (n: number) => n.toLocaleString('en-US')

/**
 * `large / small` time of a case: the growth of its cost with the number of entries (1 = flat), from its
 * smallest and largest measured sizes; undefined unless it was measured at both of the report's extremes.
 */
export function scaleRatio(ns: readonly (number | undefined)[]): number | undefined {
  const small = ns[0]
  const large = ns.at(-1)
  return small === undefined || large === undefined || ns.length < 2 ? undefined : large / small
}

/** The table of every case at every size, with its ratio and the target (≤ 1.5×). */
export function scaleTable(report: ScaleReport): string {
  const [small, large] = [report.sizes[0]!, report.sizes.at(-1)!]
  const sizes = report.sizes.map((n) => `${count(n)} entries`)
  const lines = [
    `| backend | operation | ${sizes.join(' | ')} | ${count(large)} / ${count(small)} | goal | met |`,
    `|---|---|${sizes.map(() => '---:').join('|')}|---:|---:|:---:|`,
  ]
  for (const c of report.cases) {
    const ratio = scaleRatio(c.ns)
    const met = ratio === undefined || c.note ? '–' : ratio <= SCALE_GOAL ? 'yes' : '**no**'
    const goal = c.note ?? `≤ ${SCALE_GOAL}×`
    lines.push(
      `| ${c.backend} | ${c.operation} | ${c.ns.map(fmt).join(' | ')} | ${ratio === undefined ? '–' : `${ratio.toFixed(2)}×`} | ${goal} | ${met} |`,
    )
  }
  return lines.join('\n')
}

/** How each store was filled, and how long it took. */
export function scaleDetails(report: ScaleReport): string {
  const lines = ['| backend | entries | filled through | filled in |', '|---|---:|---|---:|']
  for (const fill of report.fills) {
    lines.push(
      `| ${fill.backend} | ${count(fill.entries)} | ${fill.method} | ${(fill.ms / 1000).toFixed(1)} s |`,
    )
  }
  return lines.join('\n')
}

export function scaleMarkdown(report: ScaleReport, stamp: string, quick: boolean): string {
  return [
    '# Scale: the cost of a hit and of an invalidation with few and many entries stored',
    '',
    `${stamp}. ${quick ? 'Quick run.' : 'Full run.'}`,
    '',
    'Hits on random stored keys (one call in flight unless said); invalidations one at a time, in fixed',
    'batches, median. The ratio is the time with the most entries over the time with the fewest: 1 is flat.',
    '',
    scaleTable(report),
    '',
    scaleDetails(report),
    '',
  ].join('\n')
}

/**
 * A horizontal bar chart of each case's ratio (large / small), with the goal as a line: bars that end
 * left of it meet the target.
 */
export function scaleSvg(report: ScaleReport, stamp: string): string {
  const measured = report.cases.flatMap((c) => {
    const ratio = scaleRatio(c.ns)
    // A single call's ratio is noise at this scale: charted are the measured cases and the references.
    if (ratio === undefined || c.note === 'one call') return []
    return [{ label: `${c.backend}: ${c.operation}`, ratio, reference: c.note === 'reference' }]
  })
  const barHeight = 22
  const left = 330
  const width = 900
  const top = 56
  const height = top + measured.length * (barHeight + 8) + 40
  const max = Math.max(SCALE_GOAL * 1.4, ...measured.map((m) => m.ratio * 1.1))
  const x = (ratio: number) => left + ((width - left - 90) * ratio) / max
  const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const bars = measured.map((m, i) => {
    const y = top + i * (barHeight + 8)
    // rapide's cases in the project's colour, the hand-written references in grey.
    const color = m.reference ? '#868e96' : '#d9480f'
    return [
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(m.label)}</text>`,
      `<rect x="${left}" y="${y}" width="${(x(m.ratio) - left).toFixed(1)}" height="${barHeight}" fill="${color}" rx="3"/>`,
      `<text x="${(x(m.ratio) + 6).toFixed(1)}" y="${y + 15}" font-size="12">${m.ratio.toFixed(2)}×</text>`,
    ].join('')
  })
  const bottom = top + measured.length * (barHeight + 8)
  const [small, large] = [report.sizes[0]!, report.sizes.at(-1)!]
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="16" y="24" font-size="16" font-weight="bold">Scale: cost with ${count(large)} entries stored / cost with ${count(small)}</text>`,
    `<text x="16" y="42" font-size="11" fill="#555">${escapeXml(stamp)} — lower is better, 1× is flat; goal ≤ ${SCALE_GOAL}× (line)</text>`,
    `<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${top - 6}" y2="${bottom}" stroke="#ced4da"/>`,
    `<text x="${x(1).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" font-size="11" fill="#555">1×</text>`,
    ...bars,
    `<line x1="${x(SCALE_GOAL).toFixed(1)}" x2="${x(SCALE_GOAL).toFixed(1)}" y1="${top - 6}" y2="${bottom}" stroke="#212529" stroke-dasharray="4 3"/>`,
    `<text x="${x(SCALE_GOAL).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" font-size="11">goal ${SCALE_GOAL}×</text>`,
    '</svg>',
  ].join('\n')
}
