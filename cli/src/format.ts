/** How results, records and lists look to a person (--json prints the gateway's JSON instead). */
import type { TaskRecord } from '@switchyard/client';

/** A result as a shell user wants it: `10`, a string without quotes, anything else as indented JSON. */
export function formatResult(result: unknown): string {
  if (typeof result === 'string') return result;
  if (typeof result === 'number' || typeof result === 'boolean' || result === null) return String(result);
  return JSON.stringify(result, null, 2);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "3 s ago", "2 min ago": how long since an ISO time. */
export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1_000));
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3_600)} h ago`;
}

/** The record as labelled lines, for `status`. */
export function formatRecord(record: TaskRecord): string {
  const lines: [string, string][] = [
    ['task', `${record.task_id}  (${record.worker} ${record.task})`],
    ['args', JSON.stringify(record.args)],
    ['queue', `${record.queue}  (priority ${record.priority})`],
    ['state', `${record.state}  ${record.current}/${record.total}  ${record.status}`.trimEnd()],
  ];
  if (record.state === 'SUCCESS') lines.push(['result', indentAfterFirst(formatResult(record.result), 10)]);
  if (record.error !== null) lines.push(['error', record.error]);
  lines.push(['attempts', `${record.attempts} of ${record.max_attempts}`]);
  if (record.workflow_id !== null) lines.push(['workflow', record.workflow_id]);
  if (record.eta !== null) lines.push(['eta', record.eta]);
  lines.push(['created', record.created_at]);
  if (record.started_at !== null) lines.push(['started', record.started_at]);
  if (record.finished_at !== null) lines.push(['finished', record.finished_at]);
  return lines.map(([label, value]) => `${label.padEnd(10)}${value}`).join('\n');
}

/** One line per event for `tail`: time, kind/queue, id, task, state, progress, status. */
export function formatEventLine(record: TaskRecord): string {
  const time = record.updated_at.slice(11, 23);
  const detail = record.state === 'FAILURE' ? (record.error ?? '') : record.status;
  const progress = `${record.current}/${record.total}`;
  return `${time}  ${record.worker}/${record.queue}  ${record.task_id}  ${record.task}  ${record.state}  ${progress}  ${detail}`.trimEnd();
}

function indentAfterFirst(text: string, spaces: number): string {
  return text.replaceAll('\n', `\n${' '.repeat(spaces)}`);
}
