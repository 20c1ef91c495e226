/**
 * Live workers of both kinds: what each is (kind, host, pid), the queues it takes from, the tasks it
 * runs now against its concurrency, and when it last said it was alive. A worker that stops
 * heartbeating drops out of the list (GET /workers shows only fresh ones).
 */
import type { WorkerInfo } from '../api.js';
import { fill, h, table, taskLink } from '../dom.js';
import { timeElement } from '../format.js';
import { pageHeading, refreshEvery, type Page } from '../page.js';

const REFRESH_MS = 2_000;

function row(worker: WorkerInfo): HTMLTableRowElement {
  const running = worker.running.length;
  return h(
    'tr',
    { 'data-worker': worker.id },
    h('td', {}, h('span', { class: `kind kind-${worker.kind}` }, worker.kind)),
    h('th', { scope: 'row', title: worker.id }, worker.id),
    h('td', {}, `${worker.host} (pid ${worker.pid})`),
    h('td', {}, worker.queues.join(', ')),
    h(
      'td',
      { 'data-field': 'running' },
      h('span', { class: running >= worker.concurrency ? 'busy' : '' }, `${running} / ${worker.concurrency}`),
      running > 0 ? h('span', { class: 'running-ids' }, ...worker.running.map((id) => taskLink(id))) : null,
    ),
    h('td', {}, timeElement(worker.started_at)),
    h('td', { 'data-field': 'heartbeat' }, timeElement(worker.heartbeat_at)),
  );
}

export const workersPage: Page = (context) => {
  const body = h('section', { class: 'workers' });
  fill(context.root, pageHeading('Workers'), body);
  const headings = ['Kind', 'Worker', 'Host', 'Queues', 'Running', 'Started', 'Last heartbeat'];
  return refreshEvery(context, REFRESH_MS, 'the workers', async () => {
    const { workers } = await context.api.get<{ workers: WorkerInfo[] }>('/workers');
    workers.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
    fill(body, table(headings, workers.map(row), 'No live workers: start one (npm start starts two kinds).'));
  });
};
