/**
 * Recent failures, both kinds, newest first (GET /tasks/recent?state=FAILURE): which task, where, with
 * which arguments, after how many attempts, and the error it ended with, in full.
 */
import type { TaskRecord } from '../api.js';
import { fill, h, table } from '../dom.js';
import { failedTaskCells } from './failed-task-cells.js';
import { pageHeading, refreshEvery, type Page } from '../page.js';

const REFRESH_MS = 5_000;
const LIMIT = 100;

function row(record: TaskRecord): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-task-id': record.task_id },
    ...failedTaskCells(record, `${record.attempts} / ${record.max_attempts}`),
  );
}

export const failuresPage: Page = (context) => {
  const body = h('section', { class: 'failures' });
  fill(context.root, pageHeading('Recent failures'), body);
  const headings = ['Failed', 'Task', 'Kind', 'Queue', 'Args', 'Attempts', 'Error'];
  let shown = '';
  return refreshEvery(context, REFRESH_MS, 'the recent failures', async () => {
    const { tasks } = await context.api.get<{ tasks: TaskRecord[] }>(`/tasks/recent?state=FAILURE&limit=${LIMIT}`);
    const seen = JSON.stringify(tasks.map((task) => [task.task_id, task.updated_at]));
    if (seen === shown) return;
    shown = seen;
    fill(body, table(headings, tasks.map(row), 'No failures recently.'));
  });
};
