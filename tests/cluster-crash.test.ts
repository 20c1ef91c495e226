/**
 * The crash test on a real 3-master Redis Cluster: 200 tasks (long_task of 10 × 100 ms, and add) over
 * three queues on three masters, through 3 Node worker processes each blocked on all three queues,
 * while a driver SIGKILLs a random worker every few hundred milliseconds and starts a replacement.
 * Every accepted task must end SUCCESS with the right result on its queue; how many ran more than
 * once is reported, not limited (at-least-once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const TASKS = 200;
const WORKERS = 3;
const KILL_EVERY_MS = 300;
const MAX_KILLS = 12;

let cluster: RedisCluster;
let stack: Stack;
let queues: string[];

beforeAll(async () => {
  cluster = await startRedisCluster();
  const byPort = new Map<number, string>();
  for (let i = 0; i < 200 && byPort.size < 3; i++) {
    const port = await cluster.portOf(`{node:c${i}}`);
    if (!byPort.has(port)) byPort.set(port, `c${i}`);
  }
  queues = [...byPort.values()];
  stack = await startStack(cluster, {
    label: 'cluster-crash',
    nodeWorkers: 0,
    env: { LONG_TASK_STEP_MS: '100', LEASE_MS: '1000', WORKER_CONCURRENCY: '5', CPU_THREADS: '1' },
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

describe('fault on a Redis Cluster: workers SIGKILLed at random while 200 tasks run over three masters', () => {
  it('every task ends SUCCESS with its result on its queue; none is lost', async () => {
    // Each worker prefers another queue first, as a deployment of mixed workers would.
    const orderFor = (i: number) => [...queues.slice(i % 3), ...queues.slice(0, i % 3)].join(',');
    const workers = Array.from({ length: WORKERS }, (_, i) => stack.startWorker({ QUEUES: orderFor(i) }));
    await Promise.all(
      workers.map((w) => waitFor(() => w.output().includes('worker started'), { timeoutMs: 20_000, what: 'worker' })),
    );

    const { client } = stack;
    const expected = new Map<string, { result: number; queue: string }>();
    for (let batch = 0; batch < TASKS / 50; batch++) {
      const submitted = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const n = batch * 50 + i;
          const queue = queues[n % 3]!;
          // long_task runs 1 s, so the run outlasts several kills however fast the workers drain the rest.
          const body = n % 2 === 0 ? { total: 10, queue } : { task: 'add', args: [n, 1], queue };
          const accepted = await client.execute('node', body);
          expect(accepted.status).toBe(202);
          return [accepted.taskId!, { result: n % 2 === 0 ? 10 : n + 1, queue }] as const;
        }),
      );
      for (const [taskId, want] of submitted) expected.set(taskId, want);
    }

    const unfinished = async () => {
      const records = await Promise.all([...expected.keys()].map((id) => client.collect('node', id)));
      return records.filter((r) => !['SUCCESS', 'FAILURE', 'REVOKED'].includes(r.state)).length;
    };
    let kills = 0;
    while (kills < MAX_KILLS && (await unfinished()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
      const index = Math.floor(Math.random() * workers.length);
      await workers[index]!.stop('SIGKILL');
      workers[index] = stack.startWorker({ QUEUES: orderFor(index) });
      kills++;
    }
    await waitFor(async () => (await unfinished()) === 0, {
      timeoutMs: 90_000,
      intervalMs: 250,
      what: 'all tasks to finish',
    });

    let completed = 0;
    let duplicated = 0;
    const wrong: string[] = [];
    for (const [taskId, want] of expected) {
      const record = await client.collect('node', taskId);
      if (record.state === 'SUCCESS' && record.result === want.result && record.queue === want.queue) completed++;
      else wrong.push(`${taskId}: ${record.state} ${JSON.stringify(record.result)} ${record.error ?? ''}`);
      if (record.attempts > 1) duplicated++;
    }
    console.log(
      `cluster crash test: submitted ${TASKS}, completed ${completed}, lost ${TASKS - completed}, duplicated ${duplicated} (${kills} workers SIGKILLed)`,
    );
    expect(wrong).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(3); // the workers really were killed while tasks ran
  }, 180_000);
});
