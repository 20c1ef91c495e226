/**
 * Draws bench/chart.svg from what the benches last measured: bench/results/<bench>.json (gateway,
 * r-service, memory, ...) and the table queue-throughput.ts printed (bench/results/queue-throughput.txt,
 * saved by run-all.ts). One panel per bench, one horizontal bar per system and case, Switchyard's
 * bars in blue. Plain SVG text, no dependency.
 *
 *   node --import tsx bench/chart.ts
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RESULTS_DIR, formatNumber, type ChartBar } from './lib/report.js';

const CHART_FILE = fileURLToPath(new URL('chart.svg', import.meta.url));

interface Panel {
  title: string;
  bars: ChartBar[];
}

const Results = z.object({
  bench: z.string(),
  measuredAt: z.string(),
  unit: z.string(),
  bars: z.array(z.object({ group: z.string(), system: z.string(), value: z.number() })),
});

/** The drain column of queue-throughput.ts's table: `| queue | enqueue | drain | ratio |`. */
function queueThroughputPanel(text: string): Panel | null {
  const bars: ChartBar[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const [, system, , drain] = cells;
    if (system && drain && /^\d+(\.\d+)?$/.test(drain)) bars.push({ group: 'drain', system, value: Number(drain) });
  }
  const jobs = /^(\d+) no-op jobs, concurrency (\d+)/m.exec(text);
  const heading = jobs ? `${jobs[1]} no-op jobs, concurrency ${jobs[2]}` : 'no-op jobs';
  return bars.length > 0 ? { title: `queue-throughput: drain jobs/s, ${heading} (higher is better)`, bars } : null;
}

function panels(): Panel[] {
  const found: Panel[] = [];
  const files = existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR).sort() : [];
  const queueText = files.includes('queue-throughput.txt')
    ? readFileSync(`${RESULTS_DIR}queue-throughput.txt`, 'utf8')
    : '';
  const queuePanel = queueThroughputPanel(queueText);
  if (queuePanel) found.push(queuePanel);
  for (const file of files.filter((name) => name.endsWith('.json'))) {
    const results = Results.parse(JSON.parse(readFileSync(`${RESULTS_DIR}${file}`, 'utf8')));
    found.push({ title: `${results.bench}: ${results.unit}, ${results.measuredAt.slice(0, 10)}`, bars: results.bars });
  }
  return found;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function svg(all: Panel[]): string {
  const width = 760;
  const labelWidth = 250;
  const barHeight = 18;
  const gap = 6;
  const parts: string[] = [];
  let y = 30;
  parts.push(
    `<text x="10" y="20" font-size="15" font-weight="bold">Switchyard benches (bench/README.md); 2-core shared machine</text>`,
  );
  for (const panel of all) {
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escape(panel.title)}</text>`);
    y += 8;
    const max = Math.max(...panel.bars.map((bar) => bar.value), 1);
    for (const bar of panel.bars) {
      const length = Math.max(1, ((width - labelWidth - 90) * bar.value) / max);
      const colour = bar.system.startsWith('switchyard') || bar.system.startsWith('r-service') ? '#2563eb' : '#9ca3af';
      const label = panel.bars.some((other) => other.group !== bar.group) ? `${bar.group} · ${bar.system}` : bar.system;
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + barHeight - 5}" font-size="12" text-anchor="end">${escape(label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${colour}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + barHeight - 5}" font-size="12">${formatNumber(bar.value)}</text>`,
      );
      y += barHeight + gap;
    }
  }
  const height = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

const all = panels();
if (all.length === 0) throw new Error(`no results in ${RESULTS_DIR}: run the benches first (npm run bench)`);
writeFileSync(CHART_FILE, svg(all));
console.log(`wrote ${CHART_FILE} (${all.length} panels)`);
