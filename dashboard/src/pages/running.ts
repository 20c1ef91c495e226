/**
 * Tasks running now, both kinds, with live progress bars: the list from GET /tasks/running, then
 * every change from the /events stream (no polling for progress). A task that ends stays a short
 * while with its final state, so its last step is seen; cancel stops a running task.
 */
import { isTerminal, type TaskRecord } from '../api.js';
import { fill, h, progressBar, stateBadge, taskLink, type ProgressBar } from '../dom.js';
import { between, timeElement } from '../format.js';
import { openStream } from '../live.js';
import { actionButton, pageHeading, refreshEvery, type Page, type PageContext } from '../page.js';

/** How long a finished task stays in the list. */
const FINISHED_KEEP_MS = 30_000;
/** The list is checked against the gateway this often, for tasks that left without an event reaching us. */
const RESYNC_MS = 10_000;
const LIMIT = 500;
const RUNNING_STATES = new Set(['STARTED', 'PROGRESS', 'RETRY']);

interface Row {
  record: TaskRecord;
  element: HTMLTableRowElement;
  bar: ProgressBar;
  state: HTMLElement;
  status: HTMLElement;
  ran: HTMLElement;
  actions: HTMLElement;
  removal?: ReturnType<typeof setTimeout>;
}

/** Whether `next` is at least as recent as `current` (events and the list can cross). */
const newer = (next: TaskRecord, current: TaskRecord) => Date.parse(next.updated_at) >= Date.parse(current.updated_at);

export function cancelButton(context: PageContext, record: TaskRecord): HTMLButtonElement | null {
  return actionButton(
    context,
    'Cancel',
    'cancel',
    async () => {
      await context.api.post(`/${record.worker}/cancel`, { task_id: record.task_id });
      return `Cancel sent to ${record.task} ${record.task_id}`;
    },
    { 'aria-label': `Cancel ${record.task} ${record.task_id}`, 'data-task-id': record.task_id },
  );
}

export const runningPage: Page = (context) => {
  const rows = new Map<string, Row>();
  const tbody = h('tbody', {});
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const connection = h('span', { class: 'connection', 'data-connected': 'false' }, 'connecting…');
  const headings = ['Task', 'Kind', 'Queue', 'State', 'Progress', 'Status', 'Attempt', 'Started', 'Running for'];
  if (!context.readOnly) headings.push('');
  const emptyNote = h('p', { class: 'empty' }, 'Nothing is running.');
  const listTable = h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
    tbody,
  );
  fill(context.root, pageHeading('Running tasks', count, connection), emptyNote, listTable);

  const showCount = () => {
    const running = [...rows.values()].filter((row) => !isTerminal(row.record.state)).length;
    count.textContent = `${running} running`;
    emptyNote.hidden = rows.size > 0;
    listTable.hidden = rows.size === 0;
  };

  const remove = (taskId: string) => {
    const row = rows.get(taskId);
    if (!row) return;
    clearTimeout(row.removal);
    row.element.remove();
    rows.delete(taskId);
    showCount();
  };

  const paint = (row: Row) => {
    const { record } = row;
    row.bar.update(record);
    row.state.replaceChildren(stateBadge(record.state));
    row.status.textContent = record.error ?? record.status;
    row.ran.textContent = between(record.started_at, record.finished_at ?? new Date().toISOString());
    row.element.dataset.state = record.state;
    row.element.classList.toggle('finished', isTerminal(record.state));
    if (isTerminal(record.state)) {
      row.actions.replaceChildren();
      row.removal ??= setTimeout(() => remove(record.task_id), FINISHED_KEEP_MS);
    }
  };

  const show = (record: TaskRecord) => {
    const existing = rows.get(record.task_id);
    if (existing) {
      if (!newer(record, existing.record)) return;
      existing.record = record;
      paint(existing);
      showCount();
      return;
    }
    // A task we never saw running is not added when it already ended or has not started.
    if (!RUNNING_STATES.has(record.state)) return;
    const bar = progressBar(record.task_id);
    const row: Row = {
      record,
      bar,
      element: h('tr', { 'data-task-id': record.task_id }),
      state: h('td', {}),
      status: h('td', { class: 'status' }),
      ran: h('td', { class: 'number' }),
      actions: h('td', {}),
    };
    const cancel = cancelButton(context, record);
    if (cancel) row.actions.append(cancel);
    row.element.append(
      h('td', {}, taskLink(record.task_id, record.task), h('div', { class: 'id muted' }, record.task_id.slice(0, 8))),
      h('td', {}, h('span', { class: `kind kind-${record.worker}` }, record.worker)),
      h('td', {}, record.queue),
      row.state,
      h('td', { class: 'progress' }, bar.element),
      row.status,
      h('td', { class: 'number' }, `${record.attempts} / ${record.max_attempts}`),
      h('td', {}, timeElement(record.started_at)),
      row.ran,
      ...(context.readOnly ? [] : [row.actions]),
    );
    rows.set(record.task_id, row);
    tbody.append(row.element);
    paint(row);
    showCount();
  };

  const closeStream = openStream(context.api, '/events', {
    onRecord: show,
    onConnection: (state) => {
      connection.dataset.connected = String(state === 'open');
      connection.textContent = { open: 'live', retrying: 'reconnecting…', refused: 'no live updates' }[state];
      if (state === 'refused') context.notify('The gateway refused the event stream (GET /events)', 'error');
    },
  });

  const stopResync = refreshEvery(context, RESYNC_MS, 'the running tasks', async () => {
    const asked = Date.now();
    const { tasks } = await context.api.get<{ tasks: TaskRecord[] }>(`/tasks/running?limit=${LIMIT}`);
    const running = new Set(tasks.map((task) => task.task_id));
    tasks.forEach(show);
    for (const [taskId, row] of rows) {
      // Not in the list and not heard of since we asked: it left without its event reaching us.
      const quiet = Date.parse(row.record.updated_at) < asked - 1_000;
      if (!running.has(taskId) && !isTerminal(row.record.state) && quiet) remove(taskId);
    }
    showCount();
  });

  // The "running for" column of tasks still running moves on without an event.
  const ticker = setInterval(() => {
    for (const row of rows.values()) if (!isTerminal(row.record.state)) paint(row);
  }, 1_000);

  showCount();
  return () => {
    closeStream();
    stopResync();
    clearInterval(ticker);
    for (const row of rows.values()) clearTimeout(row.removal);
  };
};
