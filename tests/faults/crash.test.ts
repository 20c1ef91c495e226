/**
 * Crash test: 300 tasks (half long_task of 5 × 100 ms, half add) through 3 Node worker processes while a driver SIGKILLs a random worker every
 * few hundred milliseconds and starts a replacement. Every accepted task must end SUCCESS with the
 * right result; how many ran more than once is reported, not limited (delivery is at-least-once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyLayout, createRedis, isTerminal, readTaskRecord, type Redis } from '@switchyard/shared';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const TASKS = 300;
const WORKERS = 3;
const KILL_EVERY_MS = 300;
const MAX_KILLS = 15;

const ctx = useStack({
  label: 'crash',
  nodeWorkers: WORKERS,
  env: { LONG_TASK_STEP_MS: '100', LEASE_MS: '1000', WORKER_CONCURRENCY: '5', CPU_THREADS: '1' },
});
let redis: Redis;
beforeAll(() => {
  redis = createRedis(ctx.redis.url, 'worker');
});
afterAll(() => redis.disconnect());

describe('fault: workers SIGKILLed at random while 300 tasks run', () => {
  it('every task ends SUCCESS with its result; none is lost', async () => {
    const workers = [...ctx.stack.workers];
    await Promise.all(
      workers.map((w) => waitFor(() => w.output().includes('worker started'), { timeoutMs: 20_000, what: 'worker' })),
    );

    const { client } = ctx.stack;
    const expected = new Map<string, unknown>();
    for (let batch = 0; batch < TASKS / 50; batch++) {
      const submitted = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const n = batch * 50 + i;
          const body = n % 2 === 0 ? { total: 5 } : { task: 'add', args: [n, 1] };
          const accepted = await client.execute('node', body);
          expect(accepted.status).toBe(202);
          return [accepted.taskId!, n % 2 === 0 ? 5 : n + 1] as const;
        }),
      );
      for (const [taskId, result] of submitted) expected.set(taskId, result);
    }

    const keys = createKeyLayout(ctx.stack.env.KEY_PREFIX!);
    const unfinished = async () => {
      const records = await Promise.all([...expected.keys()].map((id) => readTaskRecord(redis, keys, id)));
      return records.filter((r) => !r || !isTerminal(r.state)).length;
    };

    let kills = 0;
    while (kills < MAX_KILLS && (await unfinished()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
      const index = Math.floor(Math.random() * workers.length);
      workers[index]!.process.kill('SIGKILL');
      await workers[index]!.exited;
      workers[index] = ctx.stack.startWorker();
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
      if (record.state === 'SUCCESS' && record.result === result) completed++;
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
