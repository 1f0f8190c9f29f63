/** A column of the terminal table: `drop` orders the columns given up first when the terminal is narrow. */
export interface Column {
  title: string;
  align: 'left' | 'right';
  /** lower goes first; absent: never dropped */
  drop?: number;
  /** elided in the middle (paths: the device folder and the file name matter most) */
  elide?: 'middle' | 'end';
  /** narrowest it is elided to */
  min?: number;
  /** dropped only when eliding cannot make the table fit */
  lastResort?: boolean;
}

/** Shortens `text` to `width` characters with an ellipsis in the middle (or at the end). */
export function elide(text: string, width: number, where: 'middle' | 'end' = 'middle'): string {
  if (text.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  if (where === 'end') return `${text.slice(0, width - 1)}…`;
  const tail = Math.ceil((width - 1) / 2);
  return `${text.slice(0, width - 1 - tail)}…${text.slice(text.length - tail)}`;
}

const GAP = 2;

/**
 * Lays out rows under their titles within `columns` characters: droppable columns go first, by
 * priority, until the rest fits; then elidable ones shrink down to their minimum; then the
 * last-resort columns go. The last column is not padded.
 */
export function renderTable(spec: Column[], rows: string[][], columns: number): string[] {
  let keep = spec.map((_, i) => i);
  const widthOf = (i: number) => Math.max(spec[i].title.length, ...rows.map((r) => r[i].length));
  const natural = spec.map((_, i) => widthOf(i));
  const total = (idx: number[], widths: number[]) =>
    idx.reduce((s, i) => s + widths[i], 0) + GAP * Math.max(0, idx.length - 1);
  const droppable = spec
    .map((c, i) => ({ i, drop: c.drop }))
    .filter((c): c is { i: number; drop: number } => c.drop !== undefined)
    .sort((a, b) => a.drop - b.drop);
  // whole columns go before any cell is cut: a path or a time range elided reads worse than a count left out
  for (const c of droppable.filter((d) => !spec[d.i].lastResort)) {
    if (total(keep, natural) <= columns) break;
    keep = keep.filter((i) => i !== c.i);
  }
  let widths = elided(spec, keep, natural, total(keep, natural) - columns);
  // a very narrow terminal: the last-resort columns too, rather than a line that wraps
  for (const c of droppable.filter((d) => spec[d.i].lastResort)) {
    if (total(keep, widths) <= columns) break;
    keep = keep.filter((i) => i !== c.i);
    widths = elided(spec, keep, natural, total(keep, natural) - columns);
  }
  const last = keep[keep.length - 1];
  const line = (cells: string[]) =>
    keep
      .map((i) => {
        const c = spec[i];
        const cell = c.elide ? elide(cells[i], widths[i], c.elide) : cells[i];
        if (i === last) return cell;
        return c.align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      })
      .join(' '.repeat(GAP));
  return [
    line(spec.map((c) => c.title)),
    keep.map((i) => '-'.repeat(widths[i])).join(' '.repeat(GAP)),
    ...rows.map(line),
  ];
}

/** Cuts `over` characters from the elidable columns: the last column's first (a range's end; an error is given
 * whole below the table), then the path, each down to its minimum. */
function elided(spec: Column[], keep: number[], natural: number[], over: number): number[] {
  const widths = [...natural];
  for (const i of [...keep].reverse()) {
    if (over <= 0 || !spec[i].elide) continue;
    const floor = Math.max(spec[i].min ?? 8, spec[i].title.length);
    const cut = Math.min(over, widths[i] - floor);
    if (cut > 0) {
      widths[i] -= cut;
      over -= cut;
    }
  }
  return widths;
}
