/**
 * Recent failures, both kinds, newest first (GET /tasks/recent?state=FAILURE): which task, where, with
 * which arguments, after how many attempts, and the error it ended with, in full.
 */
import type { TaskRecord } from '../api.js';
import { fill, h, shortJson, table, taskLink } from '../dom.js';
import { timeElement } from '../format.js';
import { pageHeading, refreshEvery, type Page } from '../page.js';

const REFRESH_MS = 5_000;
const LIMIT = 100;

function row(record: TaskRecord): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-task-id': record.task_id },
    h('td', {}, timeElement(record.finished_at ?? record.updated_at)),
    h('td', {}, taskLink(record.task_id, record.task), h('div', { class: 'id muted' }, record.task_id.slice(0, 8))),
    h('td', {}, h('span', { class: `kind kind-${record.worker}` }, record.worker)),
    h('td', {}, record.queue),
    h('td', { class: 'args' }, h('code', {}, shortJson(record.args))),
    h('td', { class: 'number' }, `${record.attempts} / ${record.max_attempts}`),
    h('td', { class: 'error-text' }, record.error ?? '(no error message)'),
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
