/**
 * How the benches show what they measured: a markdown table on stdout (what bench/README.md
 * quotes), and the same figures as JSON in bench/results/<bench>.json, from which chart.ts draws
 * bench/chart.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export type Cell = string | number;

/** Whole numbers above 100, two significant decimals below. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...text.map(line)].join('\n');
}

/** One bar of the chart: a measured figure for one system in one case. */
export interface ChartBar {
  group: string;
  system: string;
  value: number;
}

export interface BenchResults {
  bench: string;
  measuredAt: string;
  /** What the chart shows for this bench, e.g. "requests/s (higher is better)". */
  unit: string;
  bars: ChartBar[];
  /** Everything else the bench measured, for the record. */
  details: unknown;
}

export function saveResults(results: Omit<BenchResults, 'measuredAt'>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const full: BenchResults = { ...results, measuredAt: new Date().toISOString() };
  writeFileSync(`${RESULTS_DIR}${results.bench}.json`, `${JSON.stringify(full, null, 2)}\n`);
}
