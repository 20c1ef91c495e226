/**
 * The queue layer on a real 3-master Redis Cluster, without the services: TaskQueues' scripts on
 * queues of three masters, waiting for work on all of them (one standing BZPOPMIN per queue), and the
 * reads and writes that once crossed slots (workflow lists, the worker registry).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TaskQueues,
  WorkflowStore,
  createKeyLayout,
  createRecordReader,
  createRedis,
  listWorkers,
  planTask,
  startWorkerHeartbeat,
  type Redis,
} from '@switchyard/shared';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import { uniquePrefix } from './support/redis-server.js';

let cluster: RedisCluster;
let redis: Redis;
let queueNames: string[];

beforeAll(async () => {
  cluster = await startRedisCluster();
  const target = { kind: 'cluster' as const, nodes: cluster.nodes.map(({ port }) => ({ host: '127.0.0.1', port })) };
  redis = createRedis(target, 'worker');
  const byPort = new Map<number, string>();
  for (let i = 0; i < 200 && byPort.size < 3; i++) {
    const port = await cluster.portOf(`{node:w${i}}`);
    if (!byPort.has(port)) byPort.set(port, `w${i}`);
  }
  queueNames = [...byPort.values()];
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const blockingConnection = () =>
  createRedis({ kind: 'cluster', nodes: cluster.nodes.map(({ port }) => ({ host: '127.0.0.1', port })) }, 'blocking');

function queuesWithFreshPrefix() {
  const keys = createKeyLayout(uniquePrefix('cq'));
  return { keys, queues: new TaskQueues(redis, keys, 'node', 600) };
}

async function submit(queues: TaskQueues, queue: string) {
  const plan = planTask('node', randomUUID(), { task: 'add', args: [1, 2], queue });
  expect(await queues.enqueue(plan.record, plan.payload)).toBe('ok');
  return plan.record.task_id;
}

describe('the queue layer on a Redis Cluster', () => {
  it('uses queues on three masters: enqueue, claim and finish each run on their queue’s node', async () => {
    const { keys, queues } = queuesWithFreshPrefix();
    expect(new Set(await Promise.all(queueNames.map((q) => cluster.portOf(`{node:${q}}`)))).size).toBe(3);
    const reader = createRecordReader(redis, keys);
    for (const queue of queueNames) {
      const taskId = await submit(queues, queue);
      const { tasks } = await queues.claim(queue, 10, 'token', 10_000);
      expect(tasks.map((t) => t.taskId)).toEqual([taskId]);
      expect(await reader.locate(taskId)).toEqual({ kind: 'node', queue });
    }
  });

  it('wakes for work on any of the queues, and keeps a marker popped while the caller was busy', async () => {
    const { queues } = queuesWithFreshPrefix();
    const blocking = blockingConnection();
    try {
      const waiting = queues.waitForWork(blocking, queueNames, 5);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await submit(queues, queueNames[2]!);
      expect(await waiting).toEqual({ queue: queueNames[2], dueAt: 0 });
      // Work arrives on the two other queues while nobody waits: the standing BZPOPMINs take both
      // markers, and the next calls hand them out at once, one each.
      await submit(queues, queueNames[0]!);
      await submit(queues, queueNames[1]!);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const woken = [
        await queues.waitForWork(blocking, queueNames, 5),
        await queues.waitForWork(blocking, queueNames, 5),
      ];
      expect(woken.map((w) => w?.queue).sort()).toEqual([queueNames[0], queueNames[1]].sort());
      expect(await queues.waitForWork(blocking, queueNames, 0.3)).toBeNull();
    } finally {
      blocking.disconnect();
    }
  });

  it('ends a pending wait when its blocking connection is closed (a worker stopping)', async () => {
    const { queues } = queuesWithFreshPrefix();
    const blocking = blockingConnection();
    await queues.waitForWork(blocking, queueNames, 0.2); // the per-queue connections exist now
    const waiting = queues.waitForWork(blocking, queueNames, 30);
    blocking.disconnect();
    await expect(waiting).rejects.toThrow(/closed/);
  });

  it('lists workflows and workers whose keys live on different nodes', async () => {
    const { keys } = queuesWithFreshPrefix();
    const store = new WorkflowStore(redis, keys, 600);
    await redis.zadd(keys.activeWorkflows, Date.now(), 'wf-1', Date.now(), 'wf-2');
    await store.retire('wf-1');
    expect(await redis.zscore(keys.activeWorkflows, 'wf-1')).toBeNull();
    expect(await redis.zscore(keys.recentWorkflows, 'wf-1')).not.toBeNull();
    expect((await store.list(10)).sort()).toEqual(['wf-1', 'wf-2']);

    const ids = ['node-a', 'node-b', 'node-c', 'node-d'];
    expect(new Set(await Promise.all(ids.map((id) => cluster.portOf(keys.worker(id))))).size).toBeGreaterThan(1);
    const beats = ids.map((id) =>
      startWorkerHeartbeat(
        redis,
        keys,
        () => ({ id, kind: 'node', queues: ['default'], concurrency: 1, running: [] }),
        () => undefined,
      ),
    );
    try {
      await Promise.all(beats.map((beat) => beat.beat()));
      expect((await listWorkers(redis, keys)).map((w) => w.id).sort()).toEqual(ids);
    } finally {
      await Promise.all(beats.map((beat) => beat.stop()));
    }
  });
});
