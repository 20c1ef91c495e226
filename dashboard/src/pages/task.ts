/**
 * One task's whole story: what it is (task, kind, queue, priority, workflow), its arguments, its
 * record, attempts, timings, result or error, and its events as they arrive (GET
 * /tasks/{id}/events: the current record at once, then every change until it ends). Cancel while
 * it has not ended.
 */
import { isTerminal, type TaskRecord } from '../api.js';
import { fill, h, jsonBlock, progressBar, stateBadge, taskLink } from '../dom.js';
import { between, clock } from '../format.js';
import { openStream } from '../live.js';
import { messageOf, pageHeading, type Page } from '../page.js';
import { cancelButton } from './running.js';

/** The first events are kept whole; a very long task's later steps replace the oldest shown. */
const MAX_EVENTS_SHOWN = 500;

function facts(record: TaskRecord): HTMLElement {
  const item = (name: string, ...value: (Node | string)[]) =>
    h('div', { class: 'fact' }, h('dt', {}, name), h('dd', { 'data-fact': name }, ...value));
  return h(
    'dl',
    { class: 'facts' },
    item('Kind', record.worker),
    item('Queue', record.queue),
    item('Priority', String(record.priority)),
    item('Attempts', `${record.attempts} of ${record.max_attempts}`),
    item('Created', clock(record.created_at)),
    ...(record.eta ? [item('Not before', clock(record.eta))] : []),
    item('Started', clock(record.started_at)),
    item('Finished', clock(record.finished_at)),
    item('Waited', between(record.created_at, record.started_at)),
    item('Ran', record.finished_at || !record.started_at ? between(record.started_at, record.finished_at) : 'running'),
    ...(record.expires_at ? [item('Expires', clock(record.expires_at))] : []),
    ...(record.workflow_id
      ? [
          item(
            'Workflow',
            h('a', { href: `#/workflows/${encodeURIComponent(record.workflow_id)}` }, record.workflow_id.slice(0, 8)),
          ),
        ]
      : []),
    ...(record.parent_id ? [item('After step', taskLink(record.parent_id))] : []),
  );
}

export const taskPage: Page = (context, [taskId = '']) => {
  const path = `/tasks/${encodeURIComponent(taskId)}/events`;
  const title = h('span', {}, 'Task');
  const badge = h('span', {});
  const actions = h('span', { class: 'actions' });
  const bar = progressBar(taskId);
  const status = h('p', { class: 'status' });
  const factsHolder = h('div', {});
  const args = h('div', {});
  const outcome = h('div', {});
  const record = h('div', {});
  const events = h('ol', { class: 'events', 'aria-live': 'polite' });
  const heading = pageHeading('', badge, actions);
  heading.querySelector('h1')?.replaceChildren(title, h('code', { class: 'id' }, taskId));
  fill(
    context.root,
    heading,
    h('section', { class: 'task-progress' }, bar.element, status),
    factsHolder,
    h(
      'div',
      { class: 'columns' },
      h('section', {}, h('h2', {}, 'Arguments'), args, h('h2', {}, 'Outcome'), outcome),
      h('section', {}, h('h2', {}, 'Events'), events),
    ),
    h('details', { class: 'record' }, h('summary', {}, 'Status record (JSON)'), record),
  );

  let seen: TaskRecord | null = null;
  const show = (next: TaskRecord) => {
    if (next.task_id !== taskId) return;
    const first = seen === null;
    seen = next;
    title.textContent = `${next.task} `;
    document.title = `${next.task} ${next.state} · Switchyard`;
    badge.replaceChildren(stateBadge(next.state));
    bar.update(next);
    status.textContent = next.status;
    fill(factsHolder, facts(next));
    if (first) fill(args, jsonBlock(next.args));
    fill(
      outcome,
      next.state === 'SUCCESS'
        ? jsonBlock(next.result)
        : next.error
          ? h('pre', { class: 'error-text' }, next.error)
          : h('p', { class: 'muted' }, isTerminal(next.state) ? 'No result.' : 'Not finished yet.'),
    );
    fill(record, jsonBlock(next));
    const cancel = isTerminal(next.state) ? null : cancelButton(context, next);
    fill(actions, cancel);
    events.append(
      h(
        'li',
        { 'data-state': next.state },
        h('time', { datetime: next.updated_at }, new Date(next.updated_at).toLocaleTimeString()),
        ' ',
        stateBadge(next.state),
        ` ${next.current}/${next.total} ${next.error ?? next.status}`,
      ),
    );
    while (events.childElementCount > MAX_EVENTS_SHOWN) events.firstElementChild?.remove();
  };

  let closed = false;
  const close = openStream(
    context.api,
    path,
    {
      onRecord: show,
      onConnection: (state) => {
        if (state !== 'refused' || closed) return;
        // Refused (no such task, no key): GET /tasks/{id} says why in the gateway's own words.
        context.api
          .get<TaskRecord>(`/tasks/${encodeURIComponent(taskId)}`)
          .then(show)
          .catch((error: unknown) => {
            if (!closed) context.notify(`Could not load task ${taskId}: ${messageOf(error)}`, 'error');
          });
      },
    },
    { endsWithTask: taskId },
  );
  return () => {
    closed = true;
    close();
  };
};
