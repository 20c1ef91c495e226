import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  TaskQueues,
  createKeyLayout,
  createRecordReader,
  createRedis,
  isTerminal,
  planTask,
  revoked,
  silentLogger,
  type NodeTaskName,
  type Redis,
  type TaskOptionsRequest,
} from '@switchyard/shared';
import { createCpuPool } from '../src/tasks/cpu-pool.js';
import { NodeWorker, type WorkerOptions } from '../src/worker.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';

let server: RedisServer;
let redis: Redis;
const started: NodeWorker[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, 'worker');
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((worker) => worker.stop(0)));
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

function setup(options: Partial<WorkerOptions> = {}) {
  const keys = createKeyLayout(uniquePrefix('worker'));
  const queues = new TaskQueues(redis, keys, 'node', 3_600);
  const reader = createRecordReader(redis, keys);
  const start = async (overrides: Partial<WorkerOptions> = {}) => {
    const worker = new NodeWorker(
      {
        queues,
        blocking: createRedis(server.url, 'blocking'),
        subscriber: createRedis(server.url, 'blocking'),
        cpuPool: createCpuPool(1),
      },
      {
        queues: ['default'],
        concurrency: 4,
        leaseMs: 10_000,
        longTaskStepMs: 20,
        maxDeliveries: 20,
        blockTimeoutSeconds: 1,
        ...options,
        ...overrides,
      },
      silentLogger,
    );
    await worker.start();
    started.push(worker);
    return worker;
  };
  const submit = async (task: NodeTaskName, args: unknown[], requested?: TaskOptionsRequest, queue = 'default') => {
    const taskId = randomUUID();
    const { record, payload } = planTask('node', taskId, {
      task,
      args,
      queue,
      ...(requested ? { options: requested } : {}),
    });
    expect(await queues.enqueue(record, payload)).toBe('ok');
    return taskId;
  };
  const read = (taskId: string) => reader.read(taskId);
  /** Polls the record until it is terminal, collecting every state it was seen in. */
  const finished = async (taskId: string, timeoutMs = 10_000) => {
    const states: string[] = [];
    const record = await waitFor(
      async () => {
        const current = await read(taskId);
        if (current && states.at(-1) !== current.state) states.push(current.state);
        return current && isTerminal(current.state) ? current : null;
      },
      { timeoutMs, intervalMs: 5, what: `task ${taskId} to finish` },
    );
    return Object.assign(record, { seenStates: states });
  };
  return { keys, queues, start, submit, read, finished };
}

describe('NodeWorker', () => {
  it('runs long_task through STARTED and PROGRESS to SUCCESS with the seed result', async () => {
    const { start, submit, finished } = setup({ longTaskStepMs: 60 });
    await start();
    const record = await finished(await submit('long_task', [3]));
    expect(record).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3, attempts: 1, error: null });
    expect(record.seenStates).toContain('PROGRESS');
    expect(record.finished_at).toEqual(expect.any(String));
  });

  it('runs factorial and matmul on its CPU threads', async () => {
    const { start, submit, finished } = setup();
    await start();
    expect(await finished(await submit('factorial', [20]))).toMatchObject({ result: '2432902008176640000' });
    expect((await finished(await submit('matmul', [3, 2]))).result).toHaveLength(3);
  });

  it('records a throwing task as FAILURE with its message and carries on with the next task', async () => {
    const { start, submit, finished } = setup({ concurrency: 1 });
    await start();
    const bad = await submit('factorial', [-1]); // passes no schema: the worker re-validates
    const good = await submit('add', [4, 6]);
    expect(await finished(bad)).toMatchObject({ state: 'FAILURE', error: expect.stringContaining('args.0') });
    expect(await finished(good)).toMatchObject({ state: 'SUCCESS', result: 10 });
  });

  it('retries a failing task with backoff, showing RETRY and the error, then gives up and dead-letters it', async () => {
    const { queues, start, submit, finished } = setup();
    await start();
    const taskId = await submit('factorial', [-1], {
      max_attempts: 3,
      backoff: { type: 'fixed', delay_ms: 100, jitter: false },
    });
    const record = await finished(taskId);
    expect(record.seenStates).toContain('RETRY');
    expect(record).toMatchObject({ state: 'FAILURE', attempts: 3, max_attempts: 3 });
    expect(record.error).toMatch(/invalid args at args\.0.*\(gave up after 3 attempts\)/);
    expect(await queues.deadLetters('default', 10)).toMatchObject({ total: 1, letters: [{ taskId }] });
  });

  it('fails a task that exceeds its hard time limit, also a CPU-bound one', async () => {
    const { start, submit, finished } = setup({ longTaskStepMs: 100 });
    await start();
    const slow = await submit('long_task', [50], { time_limit_ms: 250 });
    const cpu = await submit('factorial', [50_000], { time_limit_ms: 1 });
    expect(await finished(slow)).toMatchObject({ state: 'FAILURE', error: 'time limit exceeded (250 ms)' });
    expect(await finished(cpu)).toMatchObject({ state: 'FAILURE', error: 'time limit exceeded (1 ms)' });
  });

  it('tells a task at its soft time limit; long_task stops and the task fails saying so', async () => {
    const { start, submit, finished } = setup({ longTaskStepMs: 100 });
    await start();
    const record = await finished(await submit('long_task', [50], { soft_time_limit_ms: 250, time_limit_ms: 5_000 }));
    expect(record).toMatchObject({ state: 'FAILURE', error: 'soft time limit exceeded (250 ms)' });
    expect(record.current).toBeLessThan(50);
  });

  it('cancelling a running task stops it and records REVOKED', async () => {
    const { queues, start, submit, read, finished } = setup({ longTaskStepMs: 100 });
    await start();
    const taskId = await submit('long_task', [100]);
    const running = await waitFor(async () => {
      const record = await read(taskId);
      return record?.state === 'PROGRESS' ? record : null;
    });
    expect(await queues.cancel(revoked(running, 'Cancelled'))).toBe('running');
    const record = await finished(taskId, 3_000);
    expect(record).toMatchObject({ state: 'REVOKED', status: 'Cancelled while running' });
    expect(record.current).toBeLessThan(100);
  });

  it('a task that expired before a worker took it is REVOKED without running', async () => {
    const { start, submit, finished } = setup();
    const taskId = await submit('add', [1, 2], { expires: new Date(Date.now() - 1_000).toISOString() });
    await start();
    expect(await finished(taskId)).toMatchObject({
      state: 'REVOKED',
      result: null,
      status: expect.stringMatching(/^Expired/),
    });
  });

  it('gives up a task whose workers keep dying once it exceeds MAX_DELIVERIES', async () => {
    const { queues, start, submit, finished } = setup({ maxDeliveries: 1, leaseMs: 100 });
    const taskId = await submit('add', [1, 2]);
    await queues.claim('default', 1, 'worker-that-dies', 100);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await start();
    expect(await finished(taskId)).toMatchObject({
      state: 'FAILURE',
      attempts: 2,
      error: 'gave up after 1 deliveries: its worker was lost each time',
    });
  });

  it('runs up to its concurrency at once', async () => {
    const { read, start, submit } = setup({ concurrency: 3, longTaskStepMs: 300 });
    const worker = await start();
    const ids = await Promise.all([1, 2, 3, 4].map(() => submit('long_task', [2])));
    await waitFor(() => worker.inFlight === 3, { what: '3 tasks in flight' });
    const states = await Promise.all(ids.map(read));
    expect(states.filter((r) => r?.state === 'PENDING')).toHaveLength(1);
  });

  it('holds no more tasks than its concurrency while acknowledgements take the next ones, and runs each once', async () => {
    const { keys, start, submit, finished } = setup({ concurrency: 5 });
    const ids = await Promise.all(Array.from({ length: 300 }, (_, i) => submit('add', [i, 1])));
    await start();
    let mostHeld = 0;
    const leases = keys.queue('node', 'default').leases;
    const allDone = Promise.all(ids.map((id) => finished(id, 30_000)));
    let done = false;
    void allDone.finally(() => (done = true));
    for (let i = 0; i < 20_000 && !done; i++) mostHeld = Math.max(mostHeld, await redis.zcard(leases));
    const records = await allDone;
    expect(mostHeld).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThanOrEqual(5);
    expect(records.map((r) => r.result)).toEqual(ids.map((_, i) => i + 1));
    expect(records.every((r) => r.attempts === 1)).toBe(true);
  });

  it('takes every task of its first queue before any of its second, also while acknowledgements take the next ones', async () => {
    const { start, submit, finished } = setup({ concurrency: 3 });
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => submit('add', [i, 0], undefined, 'first')));
    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => submit('add', [i, 0], undefined, 'second')));
    await start({ queues: ['first', 'second'] });
    const [firstDone, secondDone] = [
      await Promise.all(first.map((id) => finished(id))),
      await Promise.all(second.map((id) => finished(id))),
    ];
    const lastFirstStart = Math.max(...firstDone.map((r) => Date.parse(r.started_at!)));
    const firstSecondStart = Math.min(...secondDone.map((r) => Date.parse(r.started_at!)));
    expect(firstSecondStart).toBeGreaterThanOrEqual(lastFirstStart);
  });

  it('several workers share one queue and every task runs exactly once when none dies', async () => {
    const { start, submit, finished } = setup({ concurrency: 5 });
    await Promise.all([start(), start(), start()]);
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => submit('add', [i, 1])));
    const records = await Promise.all(ids.map((id) => finished(id)));
    expect(records.map((r) => r.result)).toEqual(ids.map((_, i) => i + 1));
    expect(records.every((r) => r.attempts === 1)).toBe(true);
  });

  it('on stop, hands back a task that outlives the grace period, and another worker finishes it', async () => {
    const { read, start, submit, finished } = setup({ longTaskStepMs: 200 });
    const first = await start();
    const taskId = await submit('long_task', [3]);
    await waitFor(async () => (await read(taskId))?.state === 'PROGRESS', { what: 'progress' });
    await first.stop(50);
    expect(first.stats.released).toBe(1);
    expect((await read(taskId))?.state).toBe('PENDING');
    await start();
    expect(await finished(taskId)).toMatchObject({ state: 'SUCCESS', result: 3, attempts: 2 });
  });

  it('on stop, lets a task that finishes within the grace period complete', async () => {
    const { read, start, submit } = setup({ longTaskStepMs: 100 });
    const worker = await start();
    const taskId = await submit('long_task', [2]);
    await waitFor(async () => (await read(taskId))?.state === 'PROGRESS', { what: 'progress' });
    await worker.stop(5_000);
    expect(await read(taskId)).toMatchObject({ state: 'SUCCESS', result: 2 });
  });

  it('a dedicated worker takes only from its queues, preferring them in the order given', async () => {
    const { start, submit, finished, read } = setup({ concurrency: 1 });
    const cpu = await submit('add', [1, 1], undefined, 'cpu');
    const other = await submit('add', [2, 2], undefined, 'other');
    const fallback = await submit('add', [3, 3]);
    await start({ queues: ['cpu', 'default'] });
    const [cpuDone, fallbackDone] = [await finished(cpu), await finished(fallback)];
    expect(Date.parse(cpuDone.finished_at!)).toBeLessThanOrEqual(Date.parse(fallbackDone.finished_at!));
    expect(cpuDone.queue).toBe('cpu');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await read(other)).toMatchObject({ state: 'PENDING', queue: 'other' });
  });

  it('takes higher priorities first: 5 priority-9 tasks queued after 20 priority-1 ones finish first', async () => {
    const { start, submit, finished } = setup({ concurrency: 1 });
    const low = [];
    for (let i = 0; i < 20; i++) low.push(await submit('add', [i, 0], { priority: 1 }));
    const high = [];
    for (let i = 0; i < 5; i++) high.push(await submit('add', [i, 100], { priority: 9 }));
    await start();
    const lows = await Promise.all(low.map((id) => finished(id)));
    const highs = await Promise.all(high.map((id) => finished(id)));
    const lastHigh = Math.max(...highs.map((r) => Date.parse(r.started_at!)));
    const firstLow = Math.min(...lows.map((r) => Date.parse(r.started_at!)));
    expect(lastHigh).toBeLessThanOrEqual(firstLow);
    // FIFO within a priority.
    const lowStarts = lows.map((r) => Date.parse(r.started_at!));
    expect(lowStarts).toEqual([...lowStarts].sort((a, b) => a - b));
  });

  it('runs a delayed task once, no earlier than its countdown, although the countdown is longer than the lease', async () => {
    const { start, submit, finished, read } = setup({ leaseMs: 500 });
    await start();
    const submittedAt = Date.now();
    const taskId = await submit('add', [2, 3], { countdown: 1.5 });
    expect(await read(taskId)).toMatchObject({ state: 'PENDING', eta: expect.any(String) });
    const record = await finished(taskId, 6_000);
    expect(record).toMatchObject({ state: 'SUCCESS', result: 5, attempts: 1 });
    expect(Date.parse(record.started_at!)).toBeGreaterThanOrEqual(submittedAt + 1_500);
    expect(Date.parse(record.started_at!)).toBeGreaterThanOrEqual(Date.parse(record.eta!));
  });

  it('a paused queue keeps its tasks until it is resumed', async () => {
    const { queues, start, submit, finished, read } = setup();
    await queues.setPaused('default', true);
    await start();
    const taskId = await submit('add', [1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await read(taskId)).toMatchObject({ state: 'PENDING' });
    await queues.setPaused('default', false);
    expect(await finished(taskId, 3_000)).toMatchObject({ state: 'SUCCESS', result: 3 });
  });
});
