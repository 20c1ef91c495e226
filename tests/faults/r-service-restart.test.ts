/**
 * R faults through the gateway: the R service killed (with its children, as a container stop does)
 * and restarted mid-task, a task over its hard limit, a running task cancelled. R tasks queue like
 * Node ones: a killed service's tasks are redelivered once their lease runs out (LEASE_MS 1500 here)
 * and end SUCCESS with their attempts counted; none is written off as "worker lost".
 */
import { describe, expect, it } from 'vitest';
import { startService } from '../support/services.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const ctx = useStack({
  label: 'r-faults',
  withR: true,
  env: { LONG_TASK_STEP_MS: '100', LEASE_MS: '1500', MAX_CONCURRENT_TASKS: '4' },
});

const rService = () => ctx.stack.services.find((s) => s.output().includes('"service":"r-worker"'))!;

describe('fault: the R side', () => {
  it('the R service killed and restarted mid-task: every task is redelivered and ends SUCCESS, attempts 2', async () => {
    const { client } = ctx.stack;
    const running = await Promise.all([1, 2].map(() => client.execute('r', { total: 30 })));
    for (const { taskId } of running) {
      await waitFor(async () => (await client.collect('r', taskId!)).state === 'PROGRESS', { what: 'progress' });
    }
    const old = rService();
    const { port } = new URL(ctx.stack.rServiceUrl);
    await old.stop('SIGKILL');

    const restarted = startService('r-worker', { ...ctx.stack.env, HOST: '127.0.0.1', PORT: String(port) });
    ctx.stack.services.push(restarted);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, {
      timeoutMs: 30_000,
      what: 'the restarted R service',
    });

    const finals = await Promise.all(running.map(({ taskId }) => client.pollUntilDone('r', taskId!, 45_000)));
    for (const seen of finals) {
      expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', result: 30, attempts: 2 });
    }
    const after = await client.runToCompletion('r', { total: 2 });
    expect(after.at(-1)).toMatchObject({ state: 'SUCCESS', result: 2 });
    console.log(
      `R restart test: submitted ${running.length + 1}, completed ${finals.length + 1} (redelivered ${finals.length}), stuck 0`,
    );
  }, 90_000);

  it('a task over its hard time limit ends FAILURE "time limit exceeded"', async () => {
    const seen = await ctx.stack.client.runToCompletion('r', { total: 100, options: { time_limit_ms: 500 } });
    expect(seen.at(-1)).toMatchObject({ state: 'FAILURE', error: 'time limit exceeded (500 ms)' });
  });

  it('a cancelled running R task ends REVOKED', async () => {
    const { client, baseUrl } = ctx.stack;
    const accepted = await client.execute('r', { total: 100 });
    await waitFor(async () => (await client.collect('r', accepted.taskId!)).state === 'PROGRESS');
    const response = await fetch(`${baseUrl}/r/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: accepted.taskId }),
    });
    expect(response.status).toBeLessThan(300); // the one cancel reply shape is the gateway's
    const seen = await client.pollUntilDone('r', accepted.taskId!);
    expect(seen.at(-1)).toMatchObject({ state: 'REVOKED' });
  });
});
