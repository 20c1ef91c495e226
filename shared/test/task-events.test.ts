/**
 * What the queue scripts tell besides changing state: every record they write goes on the queue's
 * event stream (live events), and ending a task counts its outcome, run time and minute (metrics,
 * the dashboard's throughput) — the same from TypeScript as from R (r-worker test-task_queue.R).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecord } from '../src/stored-record.js';
import { createKeyLayout, type KeyLayout } from '../src/keys.js';
import { planTask } from '../src/plan.js';
import { TaskQueues } from '../src/queue.js';
import { createRedis, type Redis } from '../src/redis.js';
import type { TaskRecord } from '../src/status.js';
import { readTaskMetrics, readThroughput, runTimeBucket } from '../src/task-metrics.js';
import { failed, retrying, revoked, started, succeeded } from '../src/transitions.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';

let server: RedisServer;
let redis: Redis;
let keys: KeyLayout;
let queues: TaskQueues;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, 'worker');
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(() => {
  keys = createKeyLayout(uniquePrefix('events'));
  queues = new TaskQueues(redis, keys, 'node', 3_600);
});

async function submit(task = 'add', args: unknown[] = [1, 2]): Promise<TaskRecord> {
  const plan = planTask('node', randomUUID(), { task, args, queue: 'default' });
  expect(await queues.enqueue(plan.record, plan.payload)).toBe('ok');
  return plan.record;
}

async function events(): Promise<{ task: string; record: TaskRecord }[]> {
  const entries = await redis.xrangeBuffer(keys.queue('node', 'default').events, '-', '+');
  return entries.map(([, fields]) => ({
    task: String(fields[1]),
    record: decodeRecord(String(fields[1]), fields[3] as Buffer),
  }));
}

describe('the event stream', () => {
  it('holds every record a task goes through, in order, byte for byte', async () => {
    const pending = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    const running = started(pending, 1);
    await queues.writeRecord(running, 'tok');
    const done = succeeded(running, 3);
    await queues.finish(done, 'tok');
    const seen = await events();
    expect(seen.map((e) => e.task)).toEqual([pending.task_id, pending.task_id, pending.task_id]);
    expect(seen.map((e) => e.record)).toEqual([pending, running, done]);
  });

  it('shows retries, cancels and the hand-back of a stopping worker', async () => {
    const first = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    await queues.retry(retrying(started(first, 1), 'boom', 1, 1_000), 'tok', 60_000);
    const second = await submit();
    await queues.cancel(revoked(second, 'Cancelled'));
    expect((await events()).map((e) => `${e.task === first.task_id ? 'first' : 'second'} ${e.record.state}`)).toEqual([
      'first PENDING',
      'first RETRY',
      'second PENDING',
      'second REVOKED',
    ]);
  });
});

describe('counted outcomes', () => {
  it('counts outcomes by task and state, and run times in cumulative buckets', async () => {
    for (const [task, seconds, outcome] of [
      ['add', 0.2, 'ok'],
      ['add', 3, 'ok'],
      ['add', 40, 'fail'],
      ['factorial', 0.001, 'ok'],
    ] as const) {
      const pending = await submit(task, task === 'add' ? [1, 2] : [5]);
      await queues.claim('default', 1, 'tok', 10_000);
      const running = { ...started(pending, 1), started_at: '2026-01-01T00:00:00.000Z' };
      const end = new Date(Date.parse('2026-01-01T00:00:00.000Z') + seconds * 1000).toISOString();
      const last = outcome === 'ok' ? succeeded(running, 1) : failed(running, 'boom');
      await queues.finish({ ...last, finished_at: end }, 'tok', outcome === 'fail');
    }
    const metrics = await readTaskMetrics(redis, keys, 'node', 'default');
    expect(metrics.outcomes).toEqual(
      expect.arrayContaining([
        { task: 'add', state: 'SUCCESS', count: 2 },
        { task: 'add', state: 'FAILURE', count: 1 },
        { task: 'factorial', state: 'SUCCESS', count: 1 },
      ]),
    );
    const add = metrics.runtimes.find((r) => r.task === 'add');
    expect(add?.count).toBe(3);
    expect(add?.sum).toBeCloseTo(43.2);
    expect(add?.buckets.find((b) => b.le === 0.5)?.count).toBe(1);
    expect(add?.buckets.find((b) => b.le === 5)?.count).toBe(2);
    expect(add?.buckets.find((b) => b.le === 30)?.count).toBe(2);
    expect(add?.buckets.at(-1)).toEqual({ le: Infinity, count: 3 });
  });

  it('a task cancelled before it ran counts as REVOKED without a run time', async () => {
    const pending = await submit();
    await queues.cancel(revoked(pending, 'Cancelled'));
    const metrics = await readTaskMetrics(redis, keys, 'node', 'default');
    expect(metrics.outcomes).toEqual([{ task: 'add', state: 'REVOKED', count: 1 }]);
    expect(metrics.runtimes).toEqual([]);
  });

  it('throughput counts successes and failures per minute, this minute last', async () => {
    const ok = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    await queues.finish(succeeded(started(ok, 1), 3), 'tok');
    const minutes = await readThroughput(redis, keys, 'node', 'default', 15);
    expect(minutes).toHaveLength(15);
    expect(minutes.at(-1)).toMatchObject({ succeeded: 1, failed: 0 });
    expect(minutes.slice(0, -1).every((m) => m.succeeded === 0 && m.failed === 0)).toBe(true);
  });

  it('keeps no more than the last hour of minute counts', async () => {
    const stats = keys.queue('node', 'default').stats;
    const minute = Math.floor(Date.now() / 60_000);
    // counts left from long ago, as the script writes them
    await redis.hset(
      stats,
      `minute|${minute - 90}|SUCCESS`,
      4,
      'minute_floor',
      minute - 90,
      'minute_last',
      minute - 90,
    );
    const ok = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    await queues.finish(succeeded(started(ok, 1), 3), 'tok');
    const fields = Object.keys(await redis.hgetall(stats)).filter((f) => f.startsWith('minute|'));
    expect(fields).toEqual([`minute|${minute}|SUCCESS`]);
  });

  it('puts a run time in the first bucket at least as large, +Inf past the last', () => {
    expect(runTimeBucket(0.004)).toBe('0.01');
    expect(runTimeBucket(1)).toBe('1');
    expect(runTimeBucket(2.5)).toBe('5');
    expect(runTimeBucket(99_999)).toBe('+Inf');
  });
});
