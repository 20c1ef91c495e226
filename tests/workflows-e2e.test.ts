/**
 * Workflows across worker kinds, end to end: real gateway, Node workers and R service, a real
 * redis-server, HTTP only: chains that hand results from Node to R and back, groups across kinds,
 * chords, nesting, failure and `on_failure: continue`, cancel, and canvases refused with their paths.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import type { WorkflowView } from './support/workflows.js';

const ctx = useStack({
  label: 'workflows',
  nodeWorkers: 2,
  withR: true,
  // No rate limit: the tests poll GET /workflows/{id} often.
  env: {
    LONG_TASK_STEP_MS: '100',
    WORKER_CONCURRENCY: '10',
    MAX_CONCURRENT_TASKS: '4',
    CPU_THREADS: '1',
    RATE_LIMIT_PER_MINUTE: '0',
  },
});

async function submit(canvas: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${ctx.stack.baseUrl}/workflows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(canvas),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function view(workflowId: string): Promise<WorkflowView> {
  return (await (await fetch(`${ctx.stack.baseUrl}/workflows/${workflowId}`)).json()) as WorkflowView;
}

async function run(canvas: unknown, timeoutMs = 30_000): Promise<WorkflowView> {
  const accepted = await submit(canvas);
  expect(accepted.status).toBe(202);
  expect(accepted.body).toMatchObject({ status: 'created' });
  const id = accepted.body.workflow_id as string;
  return waitFor(
    async () => {
      const current = await view(id);
      return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(current.state) && current.done === current.total
        ? current
        : null;
    },
    { timeoutMs, intervalMs: 100, what: `workflow ${id} to end` },
  );
}

describe('workflows end to end', () => {
  it('a Node → R → Node chain hands each result on: data set, lm_fit in R, report in Node', async () => {
    const done = await run({
      chain: [
        { worker: 'node', task: 'make_dataset', args: [30, 2, 1, 0.2] },
        { worker: 'r', task: 'lm_fit' },
        { worker: 'node', task: 'fit_report' },
      ],
    });
    expect(done).toMatchObject({ state: 'SUCCESS', done: 3, total: 3, error: null });
    expect(done.result).toMatch(/^y = 2(\.\d+)?·x \+ 1(\.\d+)? \(R² (0\.99\d*|1), n = 30\)$/);
    expect(done.steps.map((s) => [s.path, s.worker, s.task, s.state])).toEqual([
      ['chain.0', 'node', 'make_dataset', 'SUCCESS'],
      ['chain.1', 'r', 'lm_fit', 'SUCCESS'],
      ['chain.2', 'node', 'fit_report', 'SUCCESS'],
    ]);
    // Each step is an ordinary task at its kind's collect, knowing its workflow and the step before.
    const fit = (await (
      await fetch(`${ctx.stack.baseUrl}/r/collect?task_id=${done.steps[1]!.task_id}`)
    ).json()) as Record<string, unknown>;
    expect(fit).toMatchObject({ workflow_id: done.workflow_id, parent_id: done.steps[0]!.task_id, state: 'SUCCESS' });
    expect((fit.args as unknown[])[0]).toMatchObject({ predictors: { x: expect.any(Array) } });
  }, 60_000);

  it('a group of 20 across both kinds returns the list of results in order', async () => {
    const group = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? { worker: 'node', task: 'add', args: [i, 1] }
        : { worker: 'r', task: 'summary_stats', args: [[i, i, i]] },
    );
    const done = await run({ group });
    expect(done.state).toBe('SUCCESS');
    const results = done.result as unknown[];
    expect(results).toHaveLength(20);
    results.forEach((result, i) => {
      if (i % 2 === 0) expect(result).toBe(i + 1);
      else expect(result).toMatchObject({ n: 3, mean: i });
    });
  }, 60_000);

  it('a chord: Node tasks in parallel, summary_stats in R over their results', async () => {
    const done = await run({
      chord: {
        header: [1, 2, 3, 4, 5].map((n) => ({ worker: 'node', task: 'add', args: [n, n] })),
        body: { worker: 'r', task: 'summary_stats' },
      },
    });
    expect(done).toMatchObject({ state: 'SUCCESS', total: 6, result: { n: 5, mean: 6, min: 2, max: 10 } });
    expect(done.steps.map((s) => s.path)).toEqual([
      'chord.header.0',
      'chord.header.1',
      'chord.header.2',
      'chord.header.3',
      'chord.header.4',
      'chord.body',
    ]);
  }, 60_000);

  it('nests: a chain holding a group, whose members are chains', async () => {
    const done = await run({
      chain: [
        { worker: 'node', task: 'add', args: [1, 1] },
        {
          group: [
            {
              chain: [
                { worker: 'node', task: 'add', args: [10] },
                { worker: 'node', task: 'add', args: [100] },
              ],
            },
            { worker: 'node', task: 'add', args: [1000] },
            { worker: 'r', task: 'summary_stats', args: [[5, 6, 7]], pass_result: false },
          ],
        },
      ],
    });
    expect(done.state).toBe('SUCCESS');
  }, 60_000);

  it('a failure in the middle of a chain fails the workflow, names the step, and revokes the rest', async () => {
    const done = await run({
      chain: [
        { worker: 'node', task: 'add', args: [1, 2] },
        { worker: 'r', task: 'lm_fit', args: [{ x: [1, 2, 3, 4] }] },
        { worker: 'node', task: 'add', args: [1] },
      ],
    });
    expect(done.state).toBe('FAILURE');
    expect(done.error).toMatch(/^step chain\.1 \(r lm_fit, task [0-9a-f-]+\) failed: /);
    expect(done.steps.map((s) => s.state)).toEqual(['SUCCESS', 'FAILURE', 'REVOKED']);
    const revoked = (await (
      await fetch(`${ctx.stack.baseUrl}/node/collect?task_id=${done.steps[2]!.task_id}`)
    ).json()) as { status: string };
    expect(revoked.status).toMatch(/^Not run: step chain\.1/);
  }, 60_000);

  it('on_failure: continue lets a group member fail without failing the rest: its slot holds its error', async () => {
    const done = await run({
      chord: {
        header: [
          { worker: 'node', task: 'add', args: [1, 1] },
          {
            worker: 'r',
            task: 'long_task',
            args: [30],
            options: { time_limit_ms: 300 },
            on_failure: 'continue',
          },
        ],
        body: { worker: 'node', task: 'add', args: [0, 0], pass_result: false },
      },
    });
    expect(done.state).toBe('SUCCESS');
    const header = done.steps.filter((s) => s.path.startsWith('chord.header'));
    expect(header.map((s) => s.state)).toEqual(['SUCCESS', 'FAILURE']);
  }, 60_000);

  it('cancel of a running workflow stops the running step and revokes the rest; nothing waits for ever', async () => {
    const accepted = await submit({
      chain: [
        { worker: 'node', task: 'long_task', args: [50] },
        { worker: 'r', task: 'long_task', args: [3], pass_result: false },
      ],
    });
    expect(accepted).toMatchObject({ status: 202 });
    const id = accepted.body.workflow_id as string;
    await waitFor(async () => (await view(id)).steps[0]!.state === 'PROGRESS', { what: 'the first step to run' });
    const cancelled = await fetch(`${ctx.stack.baseUrl}/workflows/${id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    const done = await waitFor(
      async () => {
        const current = await view(id);
        return current.done === current.total ? current : null;
      },
      { timeoutMs: 10_000, what: 'every step to end' },
    );
    expect(done).toMatchObject({ state: 'REVOKED' });
    expect(done.steps.map((s) => s.state)).toEqual(['REVOKED', 'REVOKED']);
  }, 30_000);

  it.each([
    [{ chain: [{ worker: 'node', task: 'nope' }] }, 'chain.0.task', /must be a node task/],
    [{ chain: [{ worker: 'node', task: 'lm_fit', args: [] }] }, 'chain.0.task', /must be a node task/],
    [{ chain: [{ worker: 'node', task: 'add', args: [1, 'x'] }] }, 'chain.0.args.1', /must be a number/],
    [
      {
        chain: [
          { worker: 'node', task: 'add', args: [1] },
          { worker: 'node', task: 'add', args: ['x'] },
        ],
      },
      'chain.1.args.0',
      /must be a number/,
    ],
    [{ chain: [] }, 'chain', /at least 1/],
    [{ chain: [{ worker: 'python', task: 'add' }] }, 'chain.0.worker', /node, r/],
    [
      { chain: [{ worker: 'node', task: 'add', args: [1, 1], on_failure: 'continue' }] },
      'chain.0.on_failure',
      /only for a member of a group/,
    ],
    [{ worker: 'node', task: 'add', args: [1, 1] }, '(body)', /chain/],
    [
      {
        chain: [
          {
            chain: [
              {
                chain: [
                  {
                    chain: [
                      { chain: [{ chain: [{ chain: [{ chain: [{ worker: 'node', task: 'add', args: [1, 1] }] }] }] }] },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
      'chain.0.chain.0.chain.0.chain.0.chain.0.chain.0.chain.0.chain.0',
      /deeper than 8/,
    ],
    [
      { group: Array.from({ length: 101 }, () => ({ worker: 'node', task: 'add', args: [1, 1] })) },
      '(body)',
      /at most 100 steps/,
    ],
  ])('refuses a bad canvas with 422 naming the path: %j', async (canvas, field, message) => {
    const response = await submit(canvas);
    expect(response.status).toBe(422);
    const fields = (response.body.error as { fields: { field: string; message: string }[] }).fields;
    expect(fields).toContainEqual({ field, message: expect.stringMatching(message) });
  });

  it('Idempotency-Key on /workflows returns the first workflow, and refuses a different canvas with 409', async () => {
    const canvas = { chain: [{ worker: 'node', task: 'add', args: [2, 2] }] };
    const post = (body: unknown) =>
      fetch(`${ctx.stack.baseUrl}/workflows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Idempotency-Key': 'wf-1' },
        body: JSON.stringify(body),
      });
    const first = (await (await post(canvas)).json()) as { workflow_id: string };
    const again = await post(canvas);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { workflow_id: string }).workflow_id).toBe(first.workflow_id);
    expect((await post({ chain: [{ worker: 'node', task: 'add', args: [2, 3] }] })).status).toBe(409);
  });
});
