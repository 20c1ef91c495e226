/**
 * Queues of both kinds at a glance: waiting, active, delayed, dead, paused, consumers, how long the
 * oldest task has waited, and throughput over the last minutes (all queues above, each in its row);
 * pause and resume. Refreshed every few seconds.
 */
import { WORKER_KINDS, type QueueInfo } from '../api.js';
import { sumThroughput, throughputChart } from '../charts.js';
import { fill, h, table } from '../dom.js';
import { duration } from '../format.js';
import { actionButton, pageHeading, refreshEvery, type Page, type PageContext } from '../page.js';

const REFRESH_MS = 2_000;

function queuePath(queue: QueueInfo): string {
  return `/queues/${queue.kind}/${encodeURIComponent(queue.name)}`;
}

/** The list, each queue with its throughput (only GET /queues/{kind}/{name} carries it). */
async function loadQueues(context: PageContext): Promise<QueueInfo[]> {
  const { queues } = await context.api.get<{ queues: QueueInfo[] }>('/queues');
  return Promise.all(
    queues.map(async (queue) => (queue.throughput ? queue : context.api.get<QueueInfo>(queuePath(queue)))),
  );
}

function row(context: PageContext, queue: QueueInfo, reload: () => Promise<void>): HTMLTableRowElement {
  const toggle = actionButton(
    context,
    queue.paused ? 'Resume' : 'Pause',
    queue.paused ? 'resume' : 'pause',
    async () => {
      await context.api.post(`${queuePath(queue)}/${queue.paused ? 'resume' : 'pause'}`);
      await reload();
      return `${queue.kind} queue ${queue.name} ${queue.paused ? 'resumed' : 'paused'}`;
    },
    { 'aria-label': `${queue.paused ? 'Resume' : 'Pause'} ${queue.kind} queue ${queue.name}` },
  );
  const count = (value: number, name: string) =>
    h('td', { class: `number${value > 0 ? ` has-${name}` : ''}`, 'data-field': name }, value);
  return h(
    'tr',
    { 'data-queue': `${queue.kind}:${queue.name}` },
    h('td', {}, h('span', { class: `kind kind-${queue.kind}` }, queue.kind)),
    h('th', { scope: 'row' }, queue.name),
    count(queue.waiting, 'waiting'),
    count(queue.active, 'active'),
    count(queue.delayed, 'delayed'),
    count(queue.dead, 'dead'),
    h(
      'td',
      { 'data-field': 'paused' },
      queue.paused ? h('span', { class: 'badge paused' }, 'paused') : h('span', { class: 'muted' }, 'running'),
    ),
    h('td', { class: `number${queue.consumers === 0 ? ' warn' : ''}`, 'data-field': 'consumers' }, queue.consumers),
    h('td', { class: 'number' }, queue.oldest_waiting_age_ms === null ? '–' : duration(queue.oldest_waiting_age_ms)),
    h('td', {}, throughputChart(queue.throughput ?? [])),
    context.readOnly ? null : h('td', {}, toggle),
  );
}

export const queuesPage: Page = (context) => {
  const summary = h('section', { class: 'summary', 'aria-label': 'All queues' });
  const body = h('section', { class: 'queues' });
  fill(context.root, pageHeading('Queues'), summary, body);

  const headings = ['Kind', 'Queue', 'Waiting', 'Active', 'Delayed', 'Dead', 'State', 'Consumers', 'Oldest wait'];
  headings.push('Throughput (15 min)');
  if (!context.readOnly) headings.push('');

  let shown = '';
  const reload = async () => {
    const queues = await loadQueues(context);
    // Rebuilt only when something changed, so a button is not swapped under the pointer or the focus.
    const seen = JSON.stringify(queues);
    if (seen === shown) return;
    shown = seen;
    const totals = (field: 'waiting' | 'active' | 'delayed' | 'dead') =>
      queues.reduce((sum, queue) => sum + queue[field], 0);
    const all = sumThroughput(queues.map((queue) => queue.throughput ?? []));
    const lastMinute = all.at(-1);
    fill(
      summary,
      ...(['waiting', 'active', 'delayed', 'dead'] as const).map((field) =>
        h('div', { class: 'figure', 'data-total': field }, h('strong', {}, totals(field)), h('span', {}, field)),
      ),
      h(
        'div',
        { class: 'figure chart' },
        throughputChart(all, { width: 300, height: 48 }),
        h(
          'span',
          {},
          lastMinute
            ? `finished per minute (latest: ${lastMinute.succeeded} ok, ${lastMinute.failed} failed)`
            : 'finished per minute',
        ),
      ),
    );
    const byKind = WORKER_KINDS.flatMap((kind) => queues.filter((queue) => queue.kind === kind));
    fill(
      body,
      table(
        headings,
        byKind.map((queue) => row(context, queue, reload)),
        'No queues yet: a queue appears once a task is submitted to it or a worker serves it.',
      ),
    );
  };
  return refreshEvery(context, REFRESH_MS, 'the queues', reload);
};
