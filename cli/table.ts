// Tables that fit the terminal: cells measured in columns (an east-Asian wide character takes two, a combining
// mark none), long cells cut with an ellipsis (at the end, or in the middle for commands and paths, whose two ends
// say the most), and optional columns dropped when even cut cells cannot fit.
import stringWidth from "string-width"

/** A column: its header, how its cells may be cut, and when it may be left out. */
export interface Column {
  readonly header: string
  /** `end`: `abcdefg` → `abcd…`; `middle`: → `abc…fg`; `never`: kept whole. */
  readonly cut: "end" | "middle" | "never"
  /** The narrowest a cut cell may get. */
  readonly min: number
  /** Columns are left out, lowest first, when the table cannot fit otherwise; undefined: always shown. */
  readonly drop?: number
}

/** The columns a terminal needs for `text`. */
export const width = (text: string): number => stringWidth(text)

/** The first code points of `chars` that fit in `columns`. */
const take = (chars: ReadonlyArray<string>, columns: number): Array<string> => {
  const out: Array<string> = []
  let used = 0
  for (const c of chars) {
    const w = stringWidth(c)
    if (used + w > columns) break
    out.push(c)
    used += w
  }
  return out
}

/** `text` in at most `columns` columns, cut with an ellipsis where `where` says. */
export const cut = (text: string, columns: number, where: "end" | "middle" = "end"): string => {
  if (stringWidth(text) <= columns) return text
  if (columns <= 1) return "…".slice(0, columns)
  const chars = [...text]
  if (where === "end") return `${take(chars, columns - 1).join("")}…`
  const head = take(chars, Math.ceil((columns - 1) / 2))
  const tail = take([...chars].reverse(), columns - 1 - stringWidth(head.join(""))).reverse()
  return `${head.join("")}…${tail.join("")}`
}

const pad = (text: string, columns: number): string => text + " ".repeat(Math.max(0, columns - stringWidth(text)))

/** Options of `render`. */
export interface RenderOptions {
  /** The columns available; undefined: no limit. */
  readonly width?: number | undefined
  /** Colours a cell once cut and padded (the padding stays outside what it adds). */
  readonly paint?: ((column: Column, row: number, text: string) => string) | undefined
}

/**
 * The table as text: a header line and a line per row, columns two spaces apart, fitted to `width`: cells of the
 * widest cuttable column are cut first, one column at a time, down to their minimum; then droppable columns go.
 */
export const render = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  options: RenderOptions = {}
): string => {
  let shown = columns.map((_, i) => i)
  let widths: Array<number> = []
  for (;;) {
    widths = shown.map((i) => Math.max(stringWidth(columns[i]!.header), ...rows.map((r) => stringWidth(r[i]!))))
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (shown.length - 1)
    if (options.width === undefined || total() <= options.width) break
    // narrow the widest column that may still be cut
    while (total() > options.width) {
      let widest = -1
      for (const [k, i] of shown.entries()) {
        const column = columns[i]!
        if (column.cut === "never" || widths[k]! <= Math.max(column.min, stringWidth(column.header))) continue
        if (widest < 0 || widths[k]! > widths[widest]!) widest = k
      }
      if (widest < 0) break
      widths[widest]!--
    }
    if (total() <= options.width) break
    // still too wide: leave out the first column to go, and fit again from whole cells
    const droppable = shown.filter((i) => columns[i]!.drop !== undefined)
    if (droppable.length === 0) break
    const first = droppable.reduce((a, b) => (columns[a]!.drop! <= columns[b]!.drop! ? a : b))
    shown = shown.filter((i) => i !== first)
  }
  const line = (cells: ReadonlyArray<string>, row: number) =>
    shown
      .map((i, k) => {
        const column = columns[i]!
        const text = cut(cells[i]!, widths[k]!, column.cut === "middle" ? "middle" : "end")
        const padded = k === shown.length - 1 ? text : pad(text, widths[k]!)
        return row < 0 || options.paint === undefined ? padded : options.paint(column, row, padded)
      })
      .join("  ")
      .trimEnd()
  return (
    [
      line(
        columns.map((c) => c.header),
        -1
      ),
      ...rows.map((r, n) => line(r, n))
    ].join("\n") + "\n"
  )
}
