// Markdown tables laid out the way the formatter (biome) lays them out: padded columns.

/**
 * A table from rows of cells (the first row is the header); `align` gives each column's
 * alignment, 'l' or 'r'. Returns the lines.
 */
export function markdownTable(rows, align) {
  const widths = rows[0].map((_, column) => Math.max(3, ...rows.map((row) => String(row[column]).length)));
  const line = (cells) =>
    `| ${cells.map((cell, column) => (align[column] === 'r' ? String(cell).padStart(widths[column]) : String(cell).padEnd(widths[column]))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (align[column] === 'r' ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)];
}
