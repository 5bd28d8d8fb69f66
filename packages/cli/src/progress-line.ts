/** `1,234,567`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** `0.4 s`, `12.3 s`, `4 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/**
 * One line of a progress bar for a terminal: `scalar_events   [██████░░░░░░░░░░░░░░]  31%  31,000 / 100,000 rows`,
 * at most `width` characters (the bar shrinks first, then the label is cut).
 */
export function progressLine(label: string, done: number, total: number, width = 80): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  const counts = `${formatCount(done)} / ${formatCount(total)} rows`;
  const name = label.length > 18 ? `${label.slice(0, 17)}…` : label.padEnd(18);
  const barWidth = Math.max(0, Math.min(30, width - name.length - percent.length - counts.length - 6));
  const filled = Math.round(ratio * barWidth);
  const bar = barWidth >= 5 ? ` [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]` : '';
  const line = `${name}${bar} ${percent}  ${counts}`;
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}
