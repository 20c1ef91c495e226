import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NodeQueue,
  createKeyLayout,
  createRedis,
  pendingRecord,
  readTaskRecord,
  silentLogger,
  stepsOf,
  type KeyLayout,
  type Redis,
  type TaskRecord,
} from '@switchyard/shared';
import { NodeWorker } from '../src/worker.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';

let server: RedisServer;
let redis: Redis;
const started: { worker: NodeWorker; blocking: Redis }[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, 'worker');
});
afterEach(async () => {
  await Promise.all(started.splice(0).map(({ worker }) => worker.stop(0)));
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

function setup(options: { concurrency?: number; leaseMs?: number; longTaskStepMs?: number } = {}) {
  const keys = createKeyLayout(uniquePrefix('worker'));
  const queue = new NodeQueue(redis, keys, 3_600);
  const start = () => {
    const blocking = createRedis(server.url, 'blocking');
    const worker = new NodeWorker(
      queue,
      blocking,
      { concurrency: 4, leaseMs: 10_000, longTaskStepMs: 20, blockTimeoutSeconds: 1, ...options },
      silentLogger,
    );
    worker.start();
    started.push({ worker, blocking });
    return worker;
  };
  const submit = async (task: string, args: unknown[]) => {
    const taskId = randomUUID();
    await queue.enqueue(pendingRecord({ task_id: taskId, worker: 'node', task, args, total: stepsOf(task, args) }));
    return taskId;
  };
  const finished = (keysOf: KeyLayout, taskId: string) =>
    waitFor(
      async () => {
        const record = await readTaskRecord(redis, keysOf, taskId);
        return record && (record.state === 'SUCCESS' || record.state === 'FAILURE') ? record : null;
      },
      { timeoutMs: 10_000, what: `task ${taskId} to finish` },
    );
  return { keys, queue, start, submit, finished: (taskId: string) => finished(keys, taskId) };
}

describe('NodeWorker', () => {
  it('runs long_task through STARTED and PROGRESS to SUCCESS with the seed result', async () => {
    const { keys, start, submit, finished } = setup({ longTaskStepMs: 60 });
    start();
    const taskId = await submit('long_task', [3]);
    const seen = new Set<string>();
    const currents: number[] = [];
    let record: TaskRecord | null = null;
    await waitFor(
      async () => {
        record = await readTaskRecord(redis, keys, taskId);
        if (record) {
          seen.add(record.state);
          currents.push(record.current);
        }
        return record?.state === 'SUCCESS';
      },
      { intervalMs: 5, what: 'long_task to succeed' },
    );
    expect(record).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3, attempts: 1, error: null });
    expect(seen.has('PROGRESS')).toBe(true);
    expect(currents).toEqual([...currents].sort((a, b) => a - b)); // current only rises
    expect(await finished(taskId)).toMatchObject({ finished_at: expect.any(String), started_at: expect.any(String) });
  });

  it('records a throwing task as FAILURE with its message and carries on with the next task', async () => {
    const { start, submit, finished } = setup({ concurrency: 1 });
    start();
    const bad = await submit('factorial', [-1]); // passes no schema: the worker re-validates
    const good = await submit('add', [4, 6]);
    expect(await finished(bad)).toMatchObject({ state: 'FAILURE', error: expect.stringContaining('args.0') });
    expect(await finished(good)).toMatchObject({ state: 'SUCCESS', result: 10 });
  });

  it('runs up to its concurrency at once', async () => {
    const { keys, start, submit } = setup({ concurrency: 3, longTaskStepMs: 300 });
    const worker = start();
    const ids = await Promise.all([1, 2, 3, 4].map(() => submit('long_task', [2])));
    await waitFor(() => worker.inFlight === 3, { what: '3 tasks in flight' });
    const states = await Promise.all(ids.map((id) => readTaskRecord(redis, keys, id)));
    expect(states.filter((r) => r?.state === 'PENDING')).toHaveLength(1);
  });

  it('several workers share one queue and every task runs exactly once when none dies', async () => {
    const { start, submit, finished } = setup({ concurrency: 5 });
    start();
    start();
    start();
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => submit('add', [i, 1])));
    const records = await Promise.all(ids.map(finished));
    expect(records.map((r) => r.result)).toEqual(ids.map((_, i) => i + 1));
    expect(records.every((r) => r.attempts === 1)).toBe(true);
  });

  it('on stop, hands back a task that outlives the grace period, and another worker finishes it', async () => {
    const { keys, start, submit, finished } = setup({ longTaskStepMs: 200 });
    const first = start();
    const taskId = await submit('long_task', [3]);
    await waitFor(async () => (await readTaskRecord(redis, keys, taskId))?.state === 'PROGRESS', {
      what: 'progress',
    });
    await first.stop(50);
    expect(first.stats.released).toBe(1);
    expect((await readTaskRecord(redis, keys, taskId))?.state).toBe('PENDING');
    start();
    expect(await finished(taskId)).toMatchObject({ state: 'SUCCESS', result: 3, attempts: 2 });
  });

  it('on stop, lets a task that finishes within the grace period complete', async () => {
    const { keys, start, submit } = setup({ longTaskStepMs: 100 });
    const worker = start();
    const taskId = await submit('long_task', [2]);
    await waitFor(async () => (await readTaskRecord(redis, keys, taskId))?.state === 'PROGRESS', {
      what: 'progress',
    });
    await worker.stop(5_000);
    expect(await readTaskRecord(redis, keys, taskId)).toMatchObject({ state: 'SUCCESS', result: 2 });
  });
});
