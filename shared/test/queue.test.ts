/**
 * The queue scripts (shared/lua) through TaskQueues, against a real redis-server: priorities and
 * FIFO, delays, leases and their sweep, retries, cancel, dead letters, pause, bounds, resends.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyLayout } from '../src/keys.js';
import { planTask } from '../src/plan.js';
import { TaskQueues } from '../src/queue.js';
import { createRecordReader, type RecordReader } from '../src/records.js';
import { readTaskMetrics } from '../src/task-metrics.js';
import { createRedis, type Redis } from '../src/redis.js';
import { failed, released, requeued, retrying, revoked, started, succeeded } from '../src/transitions.js';
import type { TaskOptionsRequest } from '../src/options.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';

let server: RedisServer;
let redis: Redis;
let blocking: Redis;
let queues: TaskQueues;
let reader: RecordReader;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, 'worker');
  blocking = createRedis(server.url, 'blocking');
});
afterAll(async () => {
  redis.disconnect();
  blocking.disconnect();
  await server.stop();
});
beforeEach(() => {
  const keys = createKeyLayout(uniquePrefix('queue'));
  queues = new TaskQueues(redis, keys, 'node', 3_600);
  reader = createRecordReader(redis, keys);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function submit(args: unknown[] = [1, 2], options?: TaskOptionsRequest, queue = 'default') {
  const taskId = randomUUID();
  const plan = planTask('node', taskId, { task: 'add', args, queue, ...(options ? { options } : {}) });
  expect(await queues.enqueue(plan.record, plan.payload)).toBe('ok');
  return plan.record;
}

const claimIds = async (max = 100, queue = 'default', token = 'tok') =>
  (await queues.claim(queue, max, token, 10_000)).tasks.map((t) => t.taskId);

describe('TaskQueues', () => {
  it('enqueue writes the PENDING record, found from the task id alone', async () => {
    const record = await submit();
    expect(await reader.read(record.task_id)).toEqual(record);
    expect(await reader.locate(record.task_id)).toEqual({ kind: 'node', queue: 'default' });
    expect(await redis.ttl(queues.queue('default').task(record.task_id))).toBeGreaterThan(3_500);
  });

  it('refuses a second task with the same id, changing nothing', async () => {
    const record = await submit();
    const again = planTask('node', record.task_id, { task: 'add', args: [9, 9], queue: 'default' });
    expect(await queues.enqueue(again.record, again.payload)).toBe('task_exists');
    expect((await reader.read(record.task_id))?.args).toEqual([1, 2]);
  });

  it('refuses a task id already used in another queue, and keeps the first task findable', async () => {
    const record = await submit([1, 2], undefined, 'first');
    const again = planTask('node', record.task_id, { task: 'add', args: [9, 9], queue: 'second' });
    expect(await queues.enqueue(again.record, again.payload)).toBe('task_exists');
    expect(await reader.read(record.task_id)).toMatchObject({ queue: 'first', args: [1, 2] });
    expect((await queues.stats('second')).waiting).toBe(0);
  });

  it('claims the highest priority first and keeps FIFO order within a priority', async () => {
    const order: [number, string][] = [];
    for (const priority of [1, 5, 9, 5, 9, 0, 1])
      order.push([priority, (await submit([priority, 0], { priority })).task_id]);
    const expected = [...order].sort((a, b) => b[0] - a[0]).map(([, id]) => id); // stable sort keeps FIFO
    expect(await claimIds()).toEqual(expected);
  });

  it('claims at most the number asked for, and the cost does not depend on how many wait', async () => {
    for (let i = 0; i < 30; i++) await submit();
    expect(await claimIds(7)).toHaveLength(7);
    expect((await queues.stats('default')).waiting).toBe(23);
  });

  it('holds a delayed task in the delayed set until it is due, then claims it once', async () => {
    const record = await submit([1, 1], { countdown: 0.4 });
    const first = await queues.claim('default', 10, 'tok', 10_000);
    expect(first.tasks).toEqual([]);
    expect(first.nextWorkAt).toBe(Date.parse(record.eta!));
    expect(await queues.stats('default')).toMatchObject({ waiting: 0, delayed: 1, active: 0 });
    await sleep(450);
    expect(await claimIds()).toEqual([record.task_id]);
    expect(await claimIds()).toEqual([]);
  });

  it('wakes a blocked worker at once for new work, and tells it when delayed work is due', async () => {
    await submit();
    expect(await queues.waitForWork(blocking, ['other', 'default'], 1)).toEqual({ queue: 'default', dueAt: 0 });
    await claimIds();
    const later = await submit([1, 1], { countdown: 5 });
    // the claim left the marker at the delayed task's due time
    await claimIds();
    expect(await queues.waitForWork(blocking, ['default'], 1)).toEqual({
      queue: 'default',
      dueAt: Date.parse(later.eta!),
    });
  });

  it('redelivers a task whose lease ran out to the front of its priority, and the old holder can no longer write', async () => {
    const first = await submit();
    const second = await submit();
    const claimed = await queues.claim('default', 1, 'dead-worker', 50);
    expect(claimed.tasks[0]?.taskId).toBe(first.task_id);
    await sleep(80);
    expect((await queues.maintain('default')).requeued).toEqual([first.task_id]);
    expect(await queues.finish(succeeded(first, 3), 'dead-worker')).toBe(false);
    const again = await queues.claim('default', 1, 'live-worker', 10_000);
    expect(again.tasks[0]).toMatchObject({ taskId: first.task_id, attempts: 2 });
    expect(await claimIds()).toEqual([second.task_id]);
  });

  it('renews leases, and reports lost ones and cancelled ones', async () => {
    const a = await submit();
    const b = await submit();
    await queues.claim('default', 2, 'tok', 10_000);
    await queues.cancel(revoked(b, 'Cancelled'));
    const renewed = await queues.extendLeases('default', [a.task_id, b.task_id, randomUUID()], 'tok', 10_000);
    expect(renewed.revoked).toEqual([b.task_id]);
    expect(renewed.lost).toHaveLength(1);
  });

  it('writes records only for the lease holder; finish acknowledges once, and a resend of it counts as done', async () => {
    const record = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    const running = started(record, 1);
    expect(await queues.writeRecord(running, 'other')).toBe(false);
    expect(await queues.writeRecord(running, 'tok')).toBe(true);
    const done = succeeded(running, 3);
    expect(await queues.finish(done, 'tok')).toBe(true);
    expect(await queues.finish(done, 'tok')).toBe(true); // its answer was lost: sent again
    expect(await queues.finish(succeeded(running, 4), 'tok')).toBe(false);
    expect(await reader.read(record.task_id)).toMatchObject({ state: 'SUCCESS', result: 3 });
    expect(await queues.stats('default')).toMatchObject({ active: 0, waiting: 0 });
  });

  it('one finishAndClaim acknowledges many tasks and takes the next ones; a lost lease is refused for that task alone', async () => {
    const records = [await submit(), await submit(), await submit()];
    const waiting = [await submit(), await submit()];
    expect(await claimIds(3)).toEqual(records.map((r) => r.task_id));
    const [first, second, third] = records.map((r) => started(r, 1));
    // The third task's lease ran out and another worker holds it now.
    await redis.hset(queues.queue('default').job(third!.task_id), 'token', 'other');
    const turn = await queues.finishAndClaim(
      'default',
      [
        { record: succeeded(first!, 3), deadLetter: false },
        { record: failed(second!, 'boom'), deadLetter: true },
        { record: succeeded(third!, 3), deadLetter: false },
      ],
      'tok',
      { max: 5, leaseMs: 10_000 },
    );
    expect(turn.acknowledged).toEqual([true, true, false]);
    expect(turn.tasks.map((t) => t.taskId)).toEqual(waiting.map((r) => r.task_id));
    expect(turn.tasks[0]).toMatchObject({ attempts: 1, failures: 0, revoked: false, payload: { task: 'add' } });
    expect(turn.nextWorkAt).toBe(-1);
    expect(await reader.read(first!.task_id)).toMatchObject({ state: 'SUCCESS', result: 3 });
    expect(await reader.read(third!.task_id)).toMatchObject({ state: 'PENDING' });
    expect(await queues.stats('default')).toMatchObject({ waiting: 0, active: 3, dead: 1 });
  });

  it('finishAndClaim sent again after its answer was lost changes nothing and counts each outcome once', async () => {
    const record = await submit();
    await claimIds(1);
    const finished = [{ record: succeeded(started(record, 1), 3), deadLetter: false }];
    const take = { max: 0, leaseMs: 10_000 };
    expect((await queues.finishAndClaim('default', finished, 'tok', take)).acknowledged).toEqual([true]);
    expect((await queues.finishAndClaim('default', finished, 'tok', take)).acknowledged).toEqual([true]);
    const metrics = await readTaskMetrics(redis, queues.keys, 'node', 'default');
    expect(metrics.outcomes).toEqual([{ task: 'add', state: 'SUCCESS', count: 1 }]);
  });

  it('retry waits out its backoff in the delayed set, then the task is claimed again', async () => {
    const record = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    expect(await queues.retry(retrying(started(record, 1), 'boom', 1, 100), 'tok', 100)).toBe(true);
    expect(await queues.stats('default')).toMatchObject({ delayed: 1, active: 0 });
    await sleep(120);
    const again = await queues.claim('default', 1, 'tok', 10_000);
    expect(again.tasks[0]).toMatchObject({ taskId: record.task_id, attempts: 2, failures: 1 });
  });

  it('release puts a task back at the front of its priority', async () => {
    const a = await submit();
    const b = await submit();
    await queues.claim('default', 1, 'tok', 10_000);
    expect(await queues.release(released(started(a, 1)), 'tok')).toBe(true);
    expect(await claimIds()).toEqual([a.task_id, b.task_id]);
  });

  it('cancel revokes a waiting task at once, flags a running one, and finds nothing to cancel after the end', async () => {
    const waiting = await submit();
    expect(await queues.cancel(revoked(waiting, 'Cancelled'))).toBe('ok');
    expect(await reader.read(waiting.task_id)).toMatchObject({ state: 'REVOKED' });
    expect(await claimIds()).toEqual([]);
    const running = await submit();
    await claimIds();
    expect(await queues.cancel(revoked(running, 'Cancelled'))).toBe('running');
    await queues.finish(revoked(running, 'Cancelled while running'), 'tok');
    expect(await queues.cancel(revoked(running, 'Cancelled'))).toBe('no_such_task');
  });

  it('a FAILURE becomes a dead letter of its queue, which can be requeued once', async () => {
    const record = await submit();
    await claimIds();
    await queues.finish(failed(started(record, 1), 'boom'), 'tok', true);
    expect(await queues.deadLetters('default', 10)).toMatchObject({ total: 1, letters: [{ taskId: record.task_id }] });
    expect(await queues.cancel(revoked(record, 'Cancelled'))).toBe('task_finished');
    const pendingAgain = requeued(failed(started(record, 1), 'boom'));
    expect(await queues.requeueDead(pendingAgain)).toBe('ok');
    expect(await queues.requeueDead(pendingAgain)).toBe('not_dead_letter');
    expect((await queues.claim('default', 1, 'tok', 10_000)).tasks[0]).toMatchObject({ attempts: 1, failures: 0 });
  });

  it('a paused queue accepts tasks but gives none out until resumed', async () => {
    await queues.setPaused('default', true);
    const record = await submit();
    expect(await claimIds()).toEqual([]);
    expect((await queues.stats('default')).paused).toBe(true);
    await queues.setPaused('default', false);
    expect(await claimIds()).toEqual([record.task_id]);
  });

  it('bounds a queue at maxLength waiting or delayed tasks', async () => {
    const plan = (queue: string) => planTask('node', randomUUID(), { task: 'add', args: [1, 1], queue });
    for (let i = 0; i < 2; i++) {
      const p = plan('small');
      expect(await queues.enqueue(p.record, p.payload, { maxLength: 2 })).toBe('ok');
    }
    const over = plan('small');
    expect(await queues.enqueue(over.record, over.payload, { maxLength: 2 })).toBe('queue_full');
    expect(await reader.read(over.record.task_id)).toBeNull();
  });

  it('counts waiting tasks per priority and knows how long the oldest has waited', async () => {
    await submit([1, 1], { priority: 9 });
    await sleep(20);
    await submit([1, 1], { priority: 3 });
    await submit([1, 1], { priority: 3 });
    const stats = await queues.stats('default');
    expect(stats.waitingByPriority).toEqual([0, 0, 0, 2, 0, 0, 0, 0, 0, 1]);
    expect(Date.now() - stats.oldestWaitingSince!).toBeGreaterThanOrEqual(20);
  });
});
