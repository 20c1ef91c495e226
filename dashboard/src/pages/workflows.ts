/**
 * Workflows: the recent ones (GET /workflows), and one workflow as a step graph whose states change
 * as its events arrive (GET /workflows/{id}/events: the whole workflow at once and after each
 * change, and every step's task events). Cancel while it runs.
 */
import { ApiError, isTerminal, type WorkflowSummary, type WorkflowView } from '../api.js';
import { fill, h, jsonBlock, stateBadge, table } from '../dom.js';
import { between, timeElement } from '../format.js';
import { openStream } from '../live.js';
import { actionButton, pageHeading, refreshEvery, type Page } from '../page.js';
import { workflowGraph, type WorkflowGraph } from '../workflow-graph.js';

const REFRESH_MS = 3_000;
/** Only when the workflow's event stream was refused. */
const POLL_MS = 2_000;
const LIMIT = 100;

const workflowHref = (id: string) => `#/workflows/${encodeURIComponent(id)}`;

export const workflowsPage: Page = (context) => {
  const body = h('section', { class: 'workflows' });
  fill(context.root, pageHeading('Workflows'), body);
  const headings = ['Workflow', 'State', 'Steps ended', 'Created', 'Took', 'Error'];
  let shown = '';
  return refreshEvery(context, REFRESH_MS, 'the workflows', async () => {
    const { workflows } = await context.api.get<{ workflows: WorkflowSummary[] }>(`/workflows?limit=${LIMIT}`);
    const seen = JSON.stringify(workflows);
    if (seen === shown) return;
    shown = seen;
    const rows = workflows.map((workflow) =>
      h(
        'tr',
        { 'data-workflow-id': workflow.workflow_id },
        h('th', { scope: 'row' }, h('a', { href: workflowHref(workflow.workflow_id) }, workflow.workflow_id)),
        h('td', {}, stateBadge(workflow.state)),
        h('td', { class: 'number' }, `${workflow.done} / ${workflow.total}`),
        h('td', {}, timeElement(workflow.created_at)),
        h('td', {}, workflow.finished_at ? between(workflow.created_at, workflow.finished_at) : 'running'),
        h('td', { class: 'error-text' }, workflow.error ?? ''),
      ),
    );
    fill(body, table(headings, rows, 'No workflows yet: POST /workflows runs one.'));
  });
};

export const workflowPage: Page = (context, [workflowId = '']) => {
  const badge = h('span', {});
  const actions = h('span', { class: 'actions' });
  const summary = h('p', { class: 'muted' });
  const graphHolder = h('div', { class: 'graph-holder' });
  const outcome = h('div', {});
  const heading = pageHeading('', badge, actions);
  heading.querySelector('h1')?.replaceChildren('Workflow ', h('code', { class: 'id' }, workflowId));
  fill(context.root, heading, summary, graphHolder, h('h2', {}, 'Outcome'), outcome);

  let graph: WorkflowGraph | null = null;
  let shape = '';
  const show = (view: WorkflowView) => {
    badge.replaceChildren(stateBadge(view.state));
    summary.textContent = `${view.done} of ${view.total} steps ended · created ${new Date(view.created_at).toLocaleTimeString()}${
      view.finished_at ? ` · took ${between(view.created_at, view.finished_at)}` : ''
    }`;
    // The graph is drawn once per shape (its steps); later views only recolour it.
    const nextShape = view.steps.map((step) => `${step.path}=${step.task_id}`).join(',');
    if (graph === null || nextShape !== shape) {
      shape = nextShape;
      graph = workflowGraph(view.steps);
      fill(graphHolder, graph.element);
    } else view.steps.forEach((step) => graph?.update(step));
    fill(
      outcome,
      view.state === 'SUCCESS'
        ? jsonBlock(view.result)
        : view.error
          ? h('pre', { class: 'error-text' }, view.error)
          : h('p', { class: 'muted' }, 'Not finished yet.'),
    );
    const cancel = isTerminal(view.state)
      ? null
      : actionButton(
          context,
          'Cancel workflow',
          'cancel-workflow',
          async () => {
            await context.api.post(`/workflows/${encodeURIComponent(workflowId)}/cancel`);
            return `Cancel sent to workflow ${workflowId}`;
          },
          { 'data-workflow-id': workflowId },
        );
    fill(actions, cancel);
  };

  // The workflow's stream ends with the workflow; a step still stopping then (a cancelled step's
  // worker has not yet recorded REVOKED) is followed on its own task stream to its end.
  const stepStreams: (() => void)[] = [];
  const followUnfinished = (view: WorkflowView) => {
    for (const step of view.steps) {
      if (isTerminal(step.state)) continue;
      const path = `/tasks/${encodeURIComponent(step.task_id)}/events`;
      stepStreams.push(
        openStream(context.api, path, { onRecord: (record) => graph?.update(record) }, { endsWithTask: step.task_id }),
      );
    }
  };

  let stopPolling: (() => void) | null = null;
  const pollInstead = () =>
    refreshEvery(context, POLL_MS, `workflow ${workflowId}`, async () => {
      const view = await context.api
        .get<WorkflowView>(`/workflows/${encodeURIComponent(workflowId)}`)
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404) {
            // Asking again will not help: say so once and stop.
            context.notify(`Could not load workflow ${workflowId}: ${error.message}`, 'error');
            stopPolling?.();
          }
          throw error;
        });
      show(view);
      if (isTerminal(view.state)) stopPolling?.();
    });

  const close = openStream(
    context.api,
    `/workflows/${encodeURIComponent(workflowId)}/events`,
    {
      onWorkflow: (view) => {
        show(view);
        if (isTerminal(view.state)) followUnfinished(view);
      },
      onRecord: (record) => graph?.update(record),
      onConnection: (state) => {
        // Refused (no such workflow, no key, or a gateway without event routes): the plain GET says
        // why, and keeps the page current until the workflow ends.
        if (state === 'refused' && stopPolling === null) stopPolling = pollInstead();
      },
    },
    { endsWithWorkflow: true },
  );
  return () => {
    close();
    stopPolling?.();
    for (const closeStep of stepStreams) closeStep();
  };
};
