/**
 * The R path end to end through the gateway: real gateway, Node worker and R service processes, a
 * real redis-server, and only HTTP from the test. The same caller code drives /node and /r.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ctx = useStack({ label: 'r-e2e', withR: true, env: { LONG_TASK_STEP_MS: '150', MAX_CONCURRENT_TASKS: '2' } });

describe('R path end to end, through the gateway', () => {
  it.each(['node', 'r'] as const)(
    'the seed flow {"total": 3} on %s rises through PROGRESS to SUCCESS with result 3',
    async (worker) => {
      const seen = await ctx.stack.client.runToCompletion(worker, { total: 3 });
      expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3 });
      expect(seen.some((s) => s.state === 'PROGRESS' && s.current > 0 && s.current < 3)).toBe(true);
      const currents = seen.map((s) => s.current);
      expect(currents).toEqual([...currents].sort((a, b) => a - b));
    },
  );

  it('lm_fit returns coefficients and R² computed by R', async () => {
    const seen = await ctx.stack.client.runToCompletion('r', {
      task: 'lm_fit',
      args: [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }],
    });
    const result = seen.at(-1)!.result as { coefficients: Record<string, number>; r_squared: number; n: number };
    expect(result.n).toBe(5);
    expect(result.coefficients.x).toBeCloseTo(1.99, 6);
    expect(result.coefficients['(Intercept)']).toBeCloseTo(0.05, 6);
    expect(result.r_squared).toBeGreaterThan(0.99);
  });

  it('summary_stats returns R quantiles', async () => {
    const seen = await ctx.stack.client.runToCompletion('r', {
      task: 'summary_stats',
      args: [[1, 2, 3, 4, 100], [0.5]],
    });
    expect(seen.at(-1)).toMatchObject({
      state: 'SUCCESS',
      result: { n: 5, mean: 22, min: 1, max: 100, quantiles: { '50%': 3 } },
    });
  });

  it('lm_fit with a predictor column of another length than y is refused at submit, naming the column', async () => {
    const reply = await ctx.stack.client.execute('r', { task: 'lm_fit', args: [[1, 2, 3], { x: [1, 2, 3, 4] }] });
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({
      error: {
        fields: [{ field: 'args.1.x', message: 'every predictor column must hold as many values as y (3); x holds 4' }],
      },
    });
  });

  it('an R task that runs past its time limit ends FAILURE saying so', async () => {
    const seen = await ctx.stack.client.runToCompletion('r', {
      task: 'long_task',
      args: [30],
      options: { time_limit_ms: 300 },
    });
    expect(seen.at(-1)).toMatchObject({ state: 'FAILURE', error: expect.stringMatching(/time limit/) });
  });

  it('bad input is refused by the gateway with the field named, before reaching R', async () => {
    const reply = await ctx.stack.client.execute('r', { task: 'summary_stats', args: [[]] });
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ error: { fields: [{ field: 'args.0' }] } });
  });

  it('a failed R task is a dead letter an operator can list and requeue', async () => {
    const { client, baseUrl } = ctx.stack;
    const accepted = await client.execute('r', { task: 'long_task', args: [30], options: { time_limit_ms: 300 } });
    const taskId = accepted.taskId!;
    const first = (await client.pollUntilDone('r', taskId)).at(-1)!;
    expect(first).toMatchObject({ state: 'FAILURE' });

    const listed = (await (await fetch(`${baseUrl}/r/dead-letters`)).json()) as { tasks: { task_id: string }[] };
    expect(listed.tasks.map((t) => t.task_id)).toContain(taskId);

    const requeue = () =>
      fetch(`${baseUrl}/r/dead-letters/requeue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: taskId }),
      });
    expect((await requeue()).status).toBe(202);
    // It ran again: a new terminal record, finished after the first one.
    const again = await waitFor(async () => {
      const record = await client.collect('r', taskId);
      return record.state === 'FAILURE' && record.finished_at !== first.finished_at ? record : null;
    });
    expect(again).toMatchObject({ attempts: 1, error: first.error });
    expect((await requeue()).status).toBe(202); // a dead letter again after failing again
  });

  it('cancel reaches a running R task through the gateway: 202 revoking, then REVOKED', async () => {
    const { client, baseUrl } = ctx.stack;
    const accepted = await client.execute('r', { total: 50 });
    await waitFor(async () => (await client.collect('r', accepted.taskId!)).state === 'PROGRESS', {
      what: 'the R task to run',
    });
    const response = await fetch(`${baseUrl}/r/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: accepted.taskId }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ task_id: accepted.taskId, status: 'revoking' });
    const done = (await client.pollUntilDone('r', accepted.taskId!, 10_000)).at(-1)!;
    expect(done).toMatchObject({ state: 'REVOKED', status: 'Cancelled while running' });
    expect(done.current).toBeLessThan(50);
  });

  it('R tasks take their queue and priority like Node tasks, and show in /queues', async () => {
    const { client, baseUrl } = ctx.stack;
    const accepted = await client.execute('r', {
      task: 'summary_stats',
      args: [[1, 2, 3]],
      queue: 'default',
      options: { priority: 8 },
    });
    expect(accepted.status).toBe(202);
    const done = (await client.pollUntilDone('r', accepted.taskId!)).at(-1)!;
    expect(done).toMatchObject({ state: 'SUCCESS', queue: 'default', priority: 8 });
    const { queues } = (await (await fetch(`${baseUrl}/queues`)).json()) as {
      queues: { kind: string; name: string; consumers: number }[];
    };
    expect(queues).toContainEqual(expect.objectContaining({ kind: 'r', name: 'default', consumers: 1 }));
  });
});
