/**
 * End to end through real processes: a gateway and Node workers started from their sources, a real
 * redis-server, and only HTTP from the test, as a user would call it.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ctx = useStack({
  label: 'e2e',
  nodeWorkers: 1,
  env: { LONG_TASK_STEP_MS: '150', LEASE_MS: '1500', WORKER_CONCURRENCY: '4' },
});

describe('Node path end to end', () => {
  it('long_task (total 3) rises through PROGRESS to SUCCESS with result 3', async () => {
    const seen = await ctx.stack.client.runToCompletion('node', { total: 3 });
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3, status: 'Task completed!' });
    const progress = seen.filter((s) => s.state === 'PROGRESS');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.status).toMatch(/^Step \d of 3$/);
    const currents = seen.map((s) => s.current);
    expect(currents).toEqual([...currents].sort((a, b) => a - b));
  });

  it('add, factorial and matmul return their results', async () => {
    const { client } = ctx.stack;
    expect((await client.runToCompletion('node', { task: 'add', args: [4, 6] })).at(-1)).toMatchObject({
      state: 'SUCCESS',
      result: 10,
    });
    expect((await client.runToCompletion('node', { task: 'factorial', args: [20] })).at(-1)).toMatchObject({
      result: '2432902008176640000',
    });
    const product = (await client.runToCompletion('node', { task: 'matmul', args: [2, 3] })).at(-1)!.result;
    expect(product).toHaveLength(2);
    expect((product as number[][])[0]).toHaveLength(2);
  });

  it('a worker SIGKILLed mid-task loses nothing: another worker finishes the task after the lease expires', async () => {
    // Only the victim runs when the task is submitted, so it is the one that takes it.
    await Promise.all(ctx.stack.workers.map((w) => w.stop('SIGTERM')));
    const victim = ctx.stack.startWorker();
    await waitFor(() => victim.output().includes('worker started'), { what: 'victim worker to start' });
    const accepted = await ctx.stack.client.execute('node', { total: 6 });
    const taskId = accepted.taskId!;
    await waitFor(async () => (await ctx.stack.client.collect('node', taskId)).state === 'PROGRESS', {
      what: 'the task to progress',
    });
    expect(victim.output()).toContain(taskId);
    victim.process.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    ctx.stack.startWorker();
    const seen = await ctx.stack.client.pollUntilDone('node', taskId, 30_000);
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', result: 6, attempts: 2 });
  }, 60_000);
});
