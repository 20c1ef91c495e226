/**
 * Switchyard on a real 3-master Redis Cluster (tests/support/redis-cluster.ts), through real processes:
 * the gateway, two Node workers and the R service, all with REDIS_CLUSTER_NODES. The queues are chosen
 * so that their slots sit on different masters; every flow a user has on one Redis must work alike:
 * the seed flow, routing to named queues, a Node → R workflow, live events, and a Node worker
 * SIGKILLed mid-task whose task is redelivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import { startStack, type Stack } from './support/stack.js';
import { openEvents } from './support/sse.js';
import { waitFor } from './support/wait.js';
import type { WorkflowView } from './support/workflows.js';

let cluster: RedisCluster;
let stack: Stack;
let client: Cluster;
/** Node queues, one per master; the worker takes from all of them (one blocked BZPOPMIN per queue). */
let nodeQueues: string[];
/** An R queue on another master than R's `default`. */
let rQueue: string;

/** Queue names from a list, one on each master (a queue's keys share the slot of `{<kind>:<name>}`). */
async function queuesOnEveryMaster(kind: string, taken: number[] = []): Promise<string[]> {
  const byPort = new Map<number, string>();
  for (let i = 0; i < 200 && byPort.size < cluster.nodes.length; i++) {
    const name = `q${i}`;
    const port = await cluster.portOf(`{${kind}:${name}}`);
    if (!byPort.has(port) && !taken.includes(port)) byPort.set(port, name);
  }
  return [...byPort.values()];
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = cluster.client();
  nodeQueues = ['default', ...(await queuesOnEveryMaster('node', [await cluster.portOf('{node:default}')]))];
  const rDefaultPort = await cluster.portOf('{r:default}');
  rQueue = (await queuesOnEveryMaster('r', [rDefaultPort]))[0]!;
  stack = await startStack(cluster, {
    label: 'cluster',
    nodeWorkers: 2,
    withR: true,
    env: {
      LONG_TASK_STEP_MS: '150',
      LEASE_MS: '1500',
      WORKER_CONCURRENCY: '4',
      CPU_THREADS: '1',
      QUEUES: `default,${rQueue}`,
    },
  });
  // The Node workers get their own QUEUES: the stack's QUEUES above is R's.
  await Promise.all(stack.workers.map((worker) => worker.stop('SIGKILL')));
  stack.workers.length = 0;
  for (let i = 0; i < 2; i++) stack.startWorker({ QUEUES: nodeQueues.join(',') });
  await Promise.all(
    stack.workers.map((w) =>
      waitFor(() => w.output().includes('worker started'), { timeoutMs: 20_000, what: 'a Node worker' }),
    ),
  );
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

describe('Switchyard on a Redis Cluster', () => {
  it('spreads the queues over the masters', async () => {
    const ports = await Promise.all(nodeQueues.map((name) => cluster.portOf(`{node:${name}}`)));
    expect(new Set(ports).size).toBe(cluster.nodes.length);
    expect(await cluster.portOf(`{r:${rQueue}}`)).not.toBe(await cluster.portOf('{r:default}'));
  });

  it('runs the seed flow: POST /node/execute {"total":3}, collect rises through PROGRESS to SUCCESS', async () => {
    const seen = await stack.client.runToCompletion('node', { total: 3 });
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3, status: 'Task completed!' });
    expect(seen.some((s) => s.state === 'PROGRESS')).toBe(true);
  });

  it('routes tasks to named queues on every master, and workers blocked on all of them take them', async () => {
    const done = await Promise.all(
      nodeQueues.map(async (queue, i) =>
        (await stack.client.runToCompletion('node', { task: 'add', args: [i, 10], queue })).at(-1),
      ),
    );
    expect(done.map((record) => [record?.queue, record?.state, record?.result])).toEqual(
      nodeQueues.map((queue, i) => [queue, 'SUCCESS', i + 10]),
    );
    // The record lives in its queue's slot: on the master of that queue.
    const prefix = stack.env.KEY_PREFIX!;
    for (const record of done) {
      expect(await client.exists(`${prefix}:{node:${record!.queue}}:task:${record!.task_id}`)).toBe(1);
    }
  });

  it('runs R tasks on two R queues on different masters', async () => {
    const stats = { task: 'summary_stats', args: [[1, 2, 3, 4]] };
    const fromDefault = (await stack.client.runToCompletion('r', stats, 60_000)).at(-1);
    const fromOther = (await stack.client.runToCompletion('r', { ...stats, queue: rQueue }, 60_000)).at(-1);
    expect(fromDefault).toMatchObject({ state: 'SUCCESS', queue: 'default' });
    expect(fromOther).toMatchObject({ state: 'SUCCESS', queue: rQueue });
    expect(fromOther?.result).toEqual(fromDefault?.result);
    const seed = (await stack.client.runToCompletion('r', { total: 2 }, 60_000)).at(-1);
    expect(seed).toMatchObject({ state: 'SUCCESS', current: 2, total: 2, queue: 'default' });
  });

  it('runs a Node → R → Node workflow (its state under its own hash tag, steps on their queues)', async () => {
    const created = await fetch(`${stack.baseUrl}/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        chain: [
          { worker: 'node', task: 'make_dataset', args: [30, 2, 1, 0.2] },
          { worker: 'r', task: 'lm_fit', queue: rQueue },
          { worker: 'node', task: 'fit_report', queue: nodeQueues[1] },
        ],
      }),
    });
    expect(created.status).toBe(202);
    const { workflow_id: workflowId } = (await created.json()) as { workflow_id: string };
    const done = await waitFor(
      async () => {
        const view = (await (await fetch(`${stack.baseUrl}/workflows/${workflowId}`)).json()) as WorkflowView;
        return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(view.state) ? view : null;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the workflow to finish' },
    );
    expect(done.steps.map((s) => [s.worker, s.task, s.queue, s.state])).toEqual([
      ['node', 'make_dataset', 'default', 'SUCCESS'],
      ['r', 'lm_fit', rQueue, 'SUCCESS'],
      ['node', 'fit_report', nodeQueues[1], 'SUCCESS'],
    ]);
    const listed = (await (await fetch(`${stack.baseUrl}/workflows?limit=50`)).json()) as {
      workflows: { workflow_id: string; state: string }[];
    };
    expect(listed.workflows.find((w) => w.workflow_id === workflowId)?.state).toBe('SUCCESS');
  });

  it('streams the live events of a task and of its queue (on another master than the default queue)', async () => {
    const queue = nodeQueues[2]!;
    const queueEvents = await openEvents(`${stack.baseUrl}/events?kind=node&queue=${queue}`);
    const accepted = await stack.client.execute('node', { task: 'long_task', args: [3], queue });
    const taskEvents = await (await openEvents(`${stack.baseUrl}/tasks/${accepted.taskId}/events`)).rest(20_000);
    expect(taskEvents.at(-1)).toMatchObject({
      event: 'SUCCESS',
      data: { task_id: accepted.taskId, queue, current: 3 },
    });
    const fromQueue: string[] = [];
    for (let i = 0; i < 20 && fromQueue.at(-1) !== 'SUCCESS'; i++) {
      const event = await queueEvents.next(10_000);
      if (event && (event.data as { task_id?: string }).task_id === accepted.taskId) fromQueue.push(event.event);
    }
    queueEvents.close();
    expect(fromQueue.at(-1)).toBe('SUCCESS');
    expect(fromQueue).toContain('PROGRESS');
  });

  it('redelivers the task of a Node worker SIGKILLed mid-task, and it succeeds', async () => {
    const accepted = await stack.client.execute('node', { task: 'long_task', args: [6], queue: nodeQueues[1] });
    const running = await waitFor(
      async () => {
        const record = await stack.client.collect('node', accepted.taskId!);
        return record.state === 'PROGRESS' ? record : null;
      },
      { timeoutMs: 20_000, what: 'the long_task to be running' },
    );
    expect(running.attempts).toBe(1);
    const holder = stack.workers.find((w) => w.output().includes(accepted.taskId!));
    expect(holder).toBeDefined();
    await holder!.stop('SIGKILL');
    const done = (await stack.client.pollUntilDone('node', accepted.taskId!, 30_000)).at(-1);
    expect(done).toMatchObject({ state: 'SUCCESS', result: 6, attempts: 2 });
  });
  it('blocks idle workers on every queue without polling: a few BZPOPMIN per queue over seconds, not hundreds', async () => {
    const bzpopminCalls = async () => {
      let calls = 0;
      for (const master of client.nodes('master')) {
        const match = /cmdstat_bzpopmin:calls=(\d+)/.exec(await master.info('commandstats'));
        calls += Number(match?.[1] ?? 0);
      }
      return calls;
    };
    const live = stack.workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null);
    const before = await bzpopminCalls();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const made = (await bzpopminCalls()) - before;
    // Each blocked BZPOPMIN lasts up to 5 s: at most one, or two at a boundary, per queue and worker here.
    expect(made).toBeLessThanOrEqual(2 * nodeQueues.length * live.length);
  });

  it('stops a Node worker blocked on every queue with SIGTERM: it exits 0, its blocked connections closed', async () => {
    const live = stack.workers.find((w) => w.process.exitCode === null && w.process.signalCode === null);
    expect(live).toBeDefined();
    expect(await live!.stop('SIGTERM')).toBe(0);
    expect(live!.output()).toContain('"stopped"');
  });
});
