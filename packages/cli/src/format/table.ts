import { stripVTControlCharacters } from 'node:util'

/** Characters a terminal draws two columns wide: East Asian wide and full-width forms, and emoji. */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|\p{Extended_Pictographic}/u
const ZERO_WIDTH = /\p{Mn}|\p{Me}|\p{Cf}/u

/** How many terminal columns `text` takes (colour codes take none). */
export function displayWidth(text: string): number {
  let width = 0
  for (const char of stripVTControlCharacters(text)) {
    if (ZERO_WIDTH.test(char)) continue
    width += WIDE.test(char) ? 2 : 1
  }
  return width
}

export interface Column {
  readonly header: string
  /** Numbers read best aligned right. */
  readonly align?: 'left' | 'right'
}

/**
 * Aligned columns without borders, as `docker ps` or `kubectl get` print them: easy to read, to `grep`, and
 * to paste. Control characters in cells (a key may hold a newline) are shown escaped, so one row is one line.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  header: (text: string) => string = (text) => text,
): string[] {
  const cells = rows.map((row) => row.map(printable))
  const widths = columns.map((column, i) =>
    Math.max(displayWidth(column.header), ...cells.map((row) => displayWidth(row[i] ?? ''))),
  )
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - displayWidth(cell))
        if (i === row.length - 1 && columns[i]?.align !== 'right') return cell
        return columns[i]?.align === 'right' ? pad + cell : cell + pad
      })
      .join('  ')
  return [header(line(columns.map((column) => column.header))), ...cells.map(line)]
}

/** A cell as one line: control characters (but colour codes) escaped the way JSON writes them. */
function printable(cell: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return cell.replace(/[\u0000-\u0008\u000a-\u001a\u001c-\u001f\u007f]/g, (c) =>
    JSON.stringify(c).slice(1, -1),
  )
}
