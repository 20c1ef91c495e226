import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  NO_RETRY,
  NodeQueue,
  createKeyLayout,
  createRedis,
  pendingRecord,
  readTaskRecord,
  resolveOptions,
  type KeyLayout,
  type Redis,
  type TaskRecord,
} from '@switchyard/shared';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';

let server: RedisServer;
let redis: Redis;
let blocking: Redis;
let keys: KeyLayout;
let queue: NodeQueue;

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
  keys = createKeyLayout(uniquePrefix('queue'));
  queue = new NodeQueue(redis, keys, 3_600);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordFor(taskId: string): TaskRecord {
  return pendingRecord({ task_id: taskId, worker: 'node', task: 'add', args: [1, 2], total: 1 });
}

async function enqueue(idempotencyScope?: string): Promise<string> {
  const taskId = randomUUID();
  return queue.enqueue(recordFor(taskId), resolveOptions(NO_RETRY), idempotencyScope);
}

describe('NodeQueue', () => {
  it('enqueue writes a PENDING record with a TTL and queues the id', async () => {
    const taskId = await enqueue();
    const record = await readTaskRecord(redis, keys, taskId);
    expect(record).toMatchObject({ task_id: taskId, state: 'PENDING', worker: 'node', task: 'add', args: [1, 2] });
    expect(await redis.ttl(keys.task(taskId))).toBeGreaterThan(3_500);
    expect(await queue.depth()).toEqual({ queued: 1, active: 0, delayed: 0, dead: 0 });
  });

  it('enqueue with a used idempotency scope returns the first id and queues nothing', async () => {
    const first = await enqueue('scope-1');
    const again = await enqueue('scope-1');
    const other = await enqueue('scope-2');
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect((await queue.depth()).queued).toBe(2);
  });

  it('claims tasks in submission order, up to the requested number, with a lease', async () => {
    const ids = [await enqueue(), await enqueue(), await enqueue()];
    const claimed = await queue.claim(2, 'token-a', 10_000);
    expect(claimed.map((c) => c.taskId)).toEqual(ids.slice(0, 2));
    expect(claimed[0]).toMatchObject({
      attempts: 1,
      failures: 0,
      revoked: false,
      payload: { task: 'add', args: [1, 2] },
    });
    expect(claimed[0]?.payload.options).toEqual(resolveOptions(NO_RETRY));
    expect(await queue.depth()).toMatchObject({ queued: 1, active: 2 });
    expect(await redis.zscore(keys.nodeLeases, ids[0]!)).not.toBeNull();
  });

  it('waitForTask blocks until a task is queued and claim takes the moved id', async () => {
    const waiting = queue.waitForTask(blocking, 5);
    const taskId = await enqueue();
    const moved = await waiting;
    expect(moved).toBe(taskId);
    const [claimed] = await queue.claim(1, 'token-a', 10_000, moved!);
    expect(claimed?.taskId).toBe(taskId);
  });

  it('finish acknowledges: the record is terminal and no bookkeeping is left', async () => {
    const taskId = await enqueue();
    await queue.claim(1, 'token-a', 10_000);
    expect(await queue.finish({ ...recordFor(taskId), state: 'SUCCESS', result: 3 }, 'token-a')).toBe(true);
    expect((await readTaskRecord(redis, keys, taskId))?.result).toBe(3);
    expect(await queue.depth()).toEqual({ queued: 0, active: 0, delayed: 0, dead: 0 });
    expect(await redis.exists(keys.job(taskId), keys.nodeLeases)).toBe(0);
  });

  it('redelivers a task whose lease expired, and the old holder can no longer write or finish it', async () => {
    const taskId = await enqueue();
    await queue.claim(1, 'dead-worker', 50);
    await sleep(80);
    expect((await queue.maintain(1_000)).requeued).toEqual([taskId]);
    const record = recordFor(taskId);
    expect(await queue.writeRecord({ ...record, state: 'PROGRESS' }, 'dead-worker')).toBe(false);
    const [again] = await queue.claim(1, 'live-worker', 10_000);
    expect(again).toMatchObject({ taskId, attempts: 2 });
    expect(await queue.finish({ ...record, state: 'SUCCESS' }, 'dead-worker')).toBe(false);
    expect(await queue.finish({ ...record, state: 'SUCCESS' }, 'live-worker')).toBe(true);
  });

  it('a task moved by BLMOVE whose worker died before claiming it is redelivered', async () => {
    const taskId = await enqueue();
    expect(await queue.waitForTask(blocking, 1)).toBe(taskId); // the worker "dies" here
    expect((await queue.maintain(50)).requeued).toEqual([]); // first sighting: the orphan gets a lease
    await sleep(80);
    expect((await queue.maintain(50)).requeued).toEqual([taskId]);
    const [claimed] = await queue.claim(1, 'token-b', 10_000);
    expect(claimed?.taskId).toBe(taskId);
  });

  it('extendLeases keeps a live lease and reports leases taken over by another worker', async () => {
    const first = await enqueue();
    const second = await enqueue();
    await queue.claim(2, 'token-a', 60);
    await sleep(80);
    await redis.hset(keys.job(second), 'token', 'token-b'); // as if redelivered to worker b
    expect(await queue.extendLeases([first, second], 'token-a', 10_000)).toEqual({ lost: [second], revoked: [] });
    expect((await queue.maintain(1_000)).requeued).toEqual([second]);
  });

  it('release hands a task back to the front of the queue', async () => {
    const first = await enqueue();
    const second = await enqueue();
    await queue.claim(1, 'token-a', 10_000);
    expect(await queue.release({ ...recordFor(first), status: 'Requeued' }, 'token-a')).toBe(true);
    const claimed = await queue.claim(2, 'token-b', 10_000);
    expect(claimed.map((c) => c.taskId)).toEqual([first, second]);
    expect(claimed[0]?.attempts).toBe(2);
  });

  it('retry parks a task until its backoff is over, then it is claimed again with its failure counted', async () => {
    const taskId = await enqueue();
    await queue.claim(1, 'token-a', 10_000);
    expect(await queue.retry({ ...recordFor(taskId), state: 'RETRY', error: 'boom' }, 'token-a', 150)).toBe(true);
    expect(await queue.depth()).toMatchObject({ queued: 0, active: 0, delayed: 1 });
    expect((await readTaskRecord(redis, keys, taskId))?.state).toBe('RETRY');
    expect((await queue.maintain(10_000)).promoted).toEqual([]);
    await sleep(200);
    expect((await queue.maintain(10_000)).promoted).toEqual([taskId]);
    const [claimed] = await queue.claim(1, 'token-a', 10_000);
    expect(claimed).toMatchObject({ taskId, attempts: 2, failures: 1 });
  });

  it('cancel revokes a queued task at once and it is never claimed', async () => {
    const taskId = await enqueue();
    const revoked = { ...recordFor(taskId), state: 'REVOKED' as const };
    expect(await queue.cancel(revoked)).toBe('revoked');
    expect((await readTaskRecord(redis, keys, taskId))?.state).toBe('REVOKED');
    expect(await queue.claim(5, 'token-a', 10_000)).toEqual([]);
    expect(await queue.cancel(revoked)).toBe('not_pending');
  });

  it('cancel of a running task flags it and announces it on the cancel channel', async () => {
    const taskId = await enqueue();
    await queue.claim(1, 'token-a', 10_000);
    const subscriber = createRedis(server.url, 'blocking');
    try {
      const heard = new Promise<string>((resolve) => subscriber.on('message', (_channel, id: string) => resolve(id)));
      await subscriber.subscribe(keys.nodeCancelChannel);
      expect(await queue.cancel({ ...recordFor(taskId), state: 'REVOKED' })).toBe('stopping');
      expect(await heard).toBe(taskId);
      expect(await queue.extendLeases([taskId], 'token-a', 10_000)).toEqual({ lost: [], revoked: [taskId] });
    } finally {
      subscriber.disconnect();
    }
  });

  it('a dead letter is listed, cannot be cancelled, and can be requeued with attempts reset', async () => {
    const taskId = await enqueue();
    await queue.claim(1, 'token-a', 10_000);
    const failed = { ...recordFor(taskId), state: 'FAILURE' as const, error: 'boom' };
    expect(await queue.finish(failed, 'token-a', true)).toBe(true);
    expect(await queue.deadLetters(10)).toEqual({ total: 1, taskIds: [taskId] });
    expect(await queue.cancel({ ...failed, state: 'REVOKED' })).toBe('finished');
    expect(await queue.requeueDead({ ...recordFor(taskId), status: 'Requeued' })).toBe('requeued');
    expect(await queue.requeueDead(recordFor(taskId))).toBe('not_dead');
    expect(await queue.deadLetters(10)).toEqual({ total: 0, taskIds: [] });
    const [claimed] = await queue.claim(1, 'token-b', 10_000);
    expect(claimed).toMatchObject({ taskId, attempts: 1, failures: 0 });
  });
});
