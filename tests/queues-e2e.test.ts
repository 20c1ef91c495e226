/**
 * The queue model end to end, through real processes: the Celery routing tutorial's layout (queues
 * add, factorial, mat_mul, one dedicated Node worker each, TASK_ROUTES on the gateway), priorities on
 * one busy worker, a countdown longer than the lease, pause and resume, and what /queues and /workers
 * report, all over HTTP as a user would.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ctx = useStack({
  label: 'queues',
  nodeWorkers: 0,
  env: {
    TASK_ROUTES: 'add=add,factorial=factorial,matmul=mat_mul',
    LONG_TASK_STEP_MS: '100',
    LEASE_MS: '1000',
    WORKER_CONCURRENCY: '2',
    CPU_THREADS: '1',
  },
});

/** A Node worker on `queues` (and any other settings), once it says it has started. */
async function startedWorker(queues: string, env: Record<string, string> = {}) {
  const worker = ctx.stack.startWorker({ QUEUES: queues, ...env });
  await waitFor(() => worker.output().includes('worker started'), { timeoutMs: 20_000, what: `a worker on ${queues}` });
  return worker;
}

const get = async (path: string) =>
  (await fetch(`${ctx.stack.baseUrl}${path}`)).json() as Promise<Record<string, unknown>>;
const post = (path: string) => fetch(`${ctx.stack.baseUrl}${path}`, { method: 'POST' });

interface QueueView {
  kind: string;
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  consumers: number;
  paused: boolean;
}
interface WorkerView {
  id: string;
  kind: string;
  queues: string[];
  pid: number;
  running: string[];
}

describe('named queues end to end', () => {
  it("routes the tutorial's tasks to their queues, and each runs only on its queue's dedicated worker", async () => {
    const [add, factorial, matMul] = await Promise.all(['add', 'factorial', 'mat_mul'].map((q) => startedWorker(q)));
    const byQueue = { add: add!, factorial: factorial!, mat_mul: matMul! };
    const { client } = ctx.stack;
    const bodies = [
      ...Array.from({ length: 6 }, (_, i) => ({ task: 'add', args: [i, 1] })),
      ...Array.from({ length: 3 }, (_, i) => ({ task: 'factorial', args: [10 + i] })),
      ...Array.from({ length: 3 }, () => ({ task: 'matmul', args: [3, 3] })),
    ];
    const accepted = await Promise.all(bodies.map((body) => client.execute('node', body)));
    const expectedQueue: Record<string, keyof typeof byQueue> = {
      add: 'add',
      factorial: 'factorial',
      matmul: 'mat_mul',
    };
    for (const [i, reply] of accepted.entries()) {
      expect(reply.status).toBe(202);
      const record = (await client.pollUntilDone('node', reply.taskId!)).at(-1)!;
      const queue = expectedQueue[bodies[i]!.task]!;
      expect(record).toMatchObject({ state: 'SUCCESS', queue });
      // The task appears in its own queue's worker's log, and in no other worker's.
      for (const [name, worker] of Object.entries(byQueue)) {
        expect(worker.output().includes(reply.taskId!), `${reply.taskId} in the ${name} worker's log`).toBe(
          name === queue,
        );
      }
    }

    const { queues } = (await get('/queues')) as { queues: QueueView[] };
    for (const name of ['add', 'factorial', 'mat_mul']) {
      expect(queues.find((q) => q.kind === 'node' && q.name === name)).toMatchObject({
        consumers: 1,
        waiting: 0,
        active: 0,
      });
    }
    const { workers } = (await get('/workers')) as { workers: WorkerView[] };
    expect(workers.map((w) => w.queues).sort()).toEqual([['add'], ['factorial'], ['mat_mul']]);
    expect(new Set(workers.map((w) => w.pid))).toEqual(new Set(Object.values(byQueue).map((w) => w.process.pid)));

    // A worker that stops leaves the registry, and its queue shows no consumer.
    await byQueue.mat_mul.stop('SIGTERM');
    const after = (await get('/workers')) as { workers: WorkerView[] };
    expect(after.workers.map((w) => w.queues[0])).not.toContain('mat_mul');
    expect(await get('/queues/node/mat_mul')).toMatchObject({ consumers: 0 });
    await Promise.all([byQueue.add.stop('SIGTERM'), byQueue.factorial.stop('SIGTERM')]);
  }, 90_000);

  it('one busy worker: 5 priority-9 tasks queued after 50 priority-1 tasks all finish first', async () => {
    const worker = await startedWorker('prio', { WORKER_CONCURRENCY: '1' });
    const { client } = ctx.stack;
    const busy = await client.execute('node', { total: 30, queue: 'prio' }); // 3 s: longer than submitting all 55
    await waitFor(async () => (await client.collect('node', busy.taskId!)).state === 'PROGRESS', {
      what: 'the worker to be busy',
    });
    const low = [];
    for (let i = 0; i < 50; i++)
      low.push(
        (await client.execute('node', { task: 'add', args: [i, 0], queue: 'prio', options: { priority: 1 } })).taskId!,
      );
    const high = [];
    for (let i = 0; i < 5; i++)
      high.push(
        (await client.execute('node', { task: 'add', args: [i, 0], queue: 'prio', options: { priority: 9 } })).taskId!,
      );
    const finishedAt = async (ids: string[]) =>
      Promise.all(
        ids.map(async (id) => Date.parse((await client.pollUntilDone('node', id, 30_000)).at(-1)!.finished_at!)),
      );
    expect((await client.collect('node', busy.taskId!)).state).toBe('PROGRESS'); // still busy: nothing else started
    const [highDone, lowDone] = [await finishedAt(high), await finishedAt(low)];
    expect(Math.max(...highDone)).toBeLessThanOrEqual(Math.min(...lowDone));
    await worker.stop('SIGTERM');
  }, 90_000);

  it('a countdown of 2 s runs after 2 s and exactly once, although LEASE_MS is 1 s', async () => {
    const worker = await startedWorker('later');
    const { client } = ctx.stack;
    const submittedAt = Date.now();
    const accepted = await client.execute('node', {
      task: 'add',
      args: [20, 22],
      queue: 'later',
      options: { countdown: 2 },
    });
    const pending = await client.collect('node', accepted.taskId!);
    expect(pending).toMatchObject({ state: 'PENDING', eta: expect.any(String) });
    expect(await get('/queues/node/later')).toMatchObject({ delayed: 1, waiting: 0 });
    const done = (await client.pollUntilDone('node', accepted.taskId!, 10_000)).at(-1)!;
    expect(done).toMatchObject({ state: 'SUCCESS', result: 42, attempts: 1 });
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(submittedAt + 2_000);
    expect(worker.output().split(accepted.taskId!).length - 1).toBeGreaterThanOrEqual(1);
    expect(worker.output().match(new RegExp(`"task started".*${accepted.taskId}`, 'g'))).toHaveLength(1);
    await worker.stop('SIGTERM');
  }, 30_000);

  it('pause keeps accepting tasks but no worker takes them until resume', async () => {
    const worker = await startedWorker('pausable');
    const { client } = ctx.stack;
    expect((await post('/queues/node/pausable/pause')).status).toBe(200);
    const accepted = await client.execute('node', { task: 'add', args: [1, 1], queue: 'pausable' });
    expect(accepted.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await client.collect('node', accepted.taskId!)).state).toBe('PENDING');
    expect(await get('/queues/node/pausable')).toMatchObject({ paused: true, waiting: 1, consumers: 1 });
    expect((await post('/queues/node/pausable/resume')).status).toBe(200);
    expect((await client.pollUntilDone('node', accepted.taskId!, 5_000)).at(-1)).toMatchObject({
      state: 'SUCCESS',
      result: 2,
    });
    await worker.stop('SIGTERM');
  }, 30_000);
});
