/**
 * Crash test: 300 tasks over two queues (long_task of 5 × 100 ms in `default`, add in `quick`) through
 * 3 Node worker processes serving both queues in different orders, while a driver SIGKILLs a random
 * worker every few hundred milliseconds and starts a replacement. Every accepted task must end SUCCESS
 * with the right result; how many ran more than once is reported, not limited (at-least-once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyLayout, createRecordReader, createRedis, isTerminal, type Redis } from '@switchyard/shared';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const TASKS = 300;
const WORKERS = 3;
const KILL_EVERY_MS = 300;
const MAX_KILLS = 15;

const QUEUE_ORDERS = ['default,quick', 'quick,default', 'default,quick'];

const ctx = useStack({
  label: 'crash',
  nodeWorkers: 0,
  env: { LONG_TASK_STEP_MS: '100', LEASE_MS: '1000', WORKER_CONCURRENCY: '5', CPU_THREADS: '1' },
});
let redis: Redis;
beforeAll(() => {
  redis = createRedis(ctx.redis.url, 'worker');
});
afterAll(() => redis.disconnect());

describe('fault: workers SIGKILLed at random while 300 tasks run', () => {
  it('every task ends SUCCESS with its result; none is lost', async () => {
    const workers = QUEUE_ORDERS.slice(0, WORKERS).map((queues) => ctx.stack.startWorker({ QUEUES: queues }));
    await Promise.all(
      workers.map((w) => waitFor(() => w.output().includes('worker started'), { timeoutMs: 20_000, what: 'worker' })),
    );

    const { client } = ctx.stack;
    const expected = new Map<string, unknown>();
    for (let batch = 0; batch < TASKS / 50; batch++) {
      const submitted = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const n = batch * 50 + i;
          const body = n % 2 === 0 ? { total: 5 } : { task: 'add', args: [n, 1], queue: 'quick' };
          const accepted = await client.execute('node', body);
          expect(accepted.status).toBe(202);
          return [accepted.taskId!, n % 2 === 0 ? 5 : n + 1] as const;
        }),
      );
      for (const [taskId, result] of submitted) expected.set(taskId, result);
    }

    const reader = createRecordReader(redis, createKeyLayout(ctx.stack.env.KEY_PREFIX!));
    const unfinished = async () => {
      const records = await Promise.all([...expected.keys()].map((id) => reader.read(id)));
      return records.filter((r) => !r || !isTerminal(r.state)).length;
    };

    let kills = 0;
    while (kills < MAX_KILLS && (await unfinished()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
      const index = Math.floor(Math.random() * workers.length);
      workers[index]!.process.kill('SIGKILL');
      await workers[index]!.exited;
      workers[index] = ctx.stack.startWorker({ QUEUES: QUEUE_ORDERS[index]! });
      kills++;
    }
    await waitFor(async () => (await unfinished()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'all tasks to finish',
    });

    let completed = 0;
    let duplicated = 0;
    const wrong: string[] = [];
    for (const [taskId, result] of expected) {
      const record = await client.collect('node', taskId);
      const queue = result === 5 ? 'default' : 'quick';
      if (record.state === 'SUCCESS' && record.result === result && record.queue === queue) completed++;
      else wrong.push(`${taskId}: ${record.state} ${JSON.stringify(record.result)} ${record.error ?? ''}`);
      if (record.attempts > 1) duplicated++;
    }
    const lost = TASKS - completed;
    console.log(
      `crash test: submitted ${TASKS}, completed ${completed}, lost ${lost}, duplicated ${duplicated} (${kills} workers SIGKILLed)`,
    );
    expect(wrong).toEqual([]);
    expect(lost).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(3); // the workers really were killed while tasks ran
  }, 150_000);
});
