/**
 * Dead letters, both kinds: tasks that failed every attempt and wait for an operator. Each can be
 * requeued (POST /{kind}/dead-letters/requeue): it runs again with its attempts reset.
 */
import { WORKER_KINDS, type TaskRecord } from '../api.js';
import { fill, h, table } from '../dom.js';
import { failedTaskCells } from './failed-task-cells.js';
import { actionButton, pageHeading, refreshEvery, type Page, type PageContext } from '../page.js';

const REFRESH_MS = 5_000;
const LIMIT = 100;

interface DeadLetterList {
  total: number;
  tasks: TaskRecord[];
}

function row(context: PageContext, record: TaskRecord, reload: () => Promise<void>): HTMLTableRowElement {
  const requeue = actionButton(
    context,
    'Requeue',
    'requeue',
    async () => {
      await context.api.post(`/${record.worker}/dead-letters/requeue`, { task_id: record.task_id });
      await reload();
      return `Requeued ${record.task} ${record.task_id}`;
    },
    { 'aria-label': `Requeue ${record.task} ${record.task_id}`, 'data-task-id': record.task_id },
  );
  return h(
    'tr',
    { 'data-task-id': record.task_id },
    ...failedTaskCells(record, String(record.attempts)),
    context.readOnly ? null : h('td', {}, requeue),
  );
}

export const deadLettersPage: Page = (context) => {
  const totals = h('p', { class: 'muted' });
  const body = h('section', { class: 'dead-letters' });
  fill(context.root, pageHeading('Dead letters', totals), body);
  const headings = ['Given up', 'Task', 'Kind', 'Queue', 'Args', 'Attempts', 'Error'];
  if (!context.readOnly) headings.push('');
  let shown = '';
  const reload = async () => {
    const lists = await Promise.all(
      WORKER_KINDS.map((kind) => context.api.get<DeadLetterList>(`/${kind}/dead-letters?limit=${LIMIT}`)),
    );
    const tasks = lists
      .flatMap((list) => list.tasks)
      .sort((a, b) => Date.parse(b.finished_at ?? b.updated_at) - Date.parse(a.finished_at ?? a.updated_at));
    const seen = JSON.stringify(tasks.map((task) => [task.task_id, task.updated_at]));
    if (seen === shown) return;
    shown = seen;
    totals.textContent = WORKER_KINDS.map((kind, i) => `${kind}: ${lists[i]?.total ?? 0}`).join(' · ');
    fill(
      body,
      table(
        headings,
        tasks.map((task) => row(context, task, reload)),
        'No dead letters.',
      ),
    );
  };
  return refreshEvery(context, REFRESH_MS, 'the dead letters', reload);
};
