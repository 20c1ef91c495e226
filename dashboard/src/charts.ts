/**
 * Throughput as a small inline SVG: one bar per minute, succeeded stacked under failed, the latest
 * minute on the right. No chart library: a few rectangles say enough at this size.
 */
import type { ThroughputMinute } from './api.js';
import { svg } from './dom.js';

export interface ChartSize {
  width: number;
  height: number;
}

export function throughputChart(
  minutes: readonly ThroughputMinute[],
  size: ChartSize = { width: 150, height: 28 },
): SVGSVGElement {
  const total = (m: ThroughputMinute) => m.succeeded + m.failed;
  const peak = Math.max(1, ...minutes.map(total));
  const succeeded = minutes.reduce((sum, m) => sum + m.succeeded, 0);
  const failed = minutes.reduce((sum, m) => sum + m.failed, 0);
  const label = `${succeeded} succeeded, ${failed} failed in the last ${minutes.length} minutes`;
  const chart = svg('svg', {
    class: 'throughput',
    width: size.width,
    height: size.height,
    viewBox: `0 0 ${size.width} ${size.height}`,
    role: 'img',
    'aria-label': label,
    'data-succeeded': succeeded,
    'data-failed': failed,
  });
  chart.append(svg('title', {}, label));
  chart.append(svg('line', { class: 'axis', x1: 0, x2: size.width, y1: size.height - 0.5, y2: size.height - 0.5 }));
  if (minutes.length === 0) return chart;
  const slot = size.width / minutes.length;
  const barWidth = Math.max(1, slot - 1);
  minutes.forEach((minute, i) => {
    const x = i * slot;
    const okHeight = (minute.succeeded / peak) * (size.height - 1);
    const failHeight = (minute.failed / peak) * (size.height - 1);
    const when = new Date(minute.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const tip = `${when}: ${minute.succeeded} succeeded, ${minute.failed} failed`;
    const bottom = size.height - 1;
    chart.append(
      svg(
        'g',
        {},
        svg('title', {}, tip),
        svg('rect', { class: 'ok', x, width: barWidth, y: bottom - okHeight, height: okHeight }),
        svg('rect', { class: 'failed', x, width: barWidth, y: bottom - okHeight - failHeight, height: failHeight }),
        // An invisible full-height target, so the tooltip shows over an empty minute too.
        svg('rect', { class: 'hit', x, width: slot, y: 0, height: size.height }),
      ),
    );
  });
  return chart;
}

/** Adds up the throughput of several queues minute by minute (they report the same minutes). */
export function sumThroughput(series: readonly (readonly ThroughputMinute[])[]): ThroughputMinute[] {
  const byMinute = new Map<string, ThroughputMinute>();
  for (const minutes of series) {
    for (const m of minutes) {
      const sum = byMinute.get(m.minute) ?? { minute: m.minute, succeeded: 0, failed: 0 };
      sum.succeeded += m.succeeded;
      sum.failed += m.failed;
      byMinute.set(m.minute, sum);
    }
  }
  return [...byMinute.values()].sort((a, b) => Date.parse(a.minute) - Date.parse(b.minute));
}
