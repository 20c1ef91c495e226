import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  NodeQueue,
  createKeyLayout,
  createRedis,
  pendingRecord,
  readTaskRecord,
  type KeyLayout,
  type Redis,
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

async function enqueue(task = 'add', args: unknown[] = [1, 2]): Promise<string> {
  const taskId = randomUUID();
  await queue.enqueue(pendingRecord({ task_id: taskId, worker: 'node', task, args, total: 1 }));
  return taskId;
}

describe('NodeQueue', () => {
  it('enqueue writes a PENDING record with a TTL and queues the id', async () => {
    const taskId = await enqueue();
    const record = await readTaskRecord(redis, keys, taskId);
    expect(record).toMatchObject({ task_id: taskId, state: 'PENDING', worker: 'node', task: 'add', args: [1, 2] });
    const ttl = await redis.ttl(keys.task(taskId));
    expect(ttl).toBeGreaterThan(3_500);
    expect(await queue.depth()).toEqual({ queued: 1, active: 0 });
  });

  it('claims tasks in submission order, up to the requested number, with a lease', async () => {
    const ids = [await enqueue(), await enqueue(), await enqueue()];
    const claimed = await queue.claim(2, 'token-a', 10_000);
    expect(claimed.map((c) => c.taskId)).toEqual(ids.slice(0, 2));
    expect(claimed[0]).toMatchObject({ attempts: 1, payload: { task: 'add', args: [1, 2] } });
    expect(await queue.depth()).toEqual({ queued: 1, active: 2 });
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
    const [claimed] = await queue.claim(1, 'token-a', 10_000);
    const record = { ...pendingRecord({ task_id: taskId, worker: 'node', task: 'add', args: [1, 2], total: 1 }) };
    expect(await queue.finish({ ...record, state: 'SUCCESS', result: 3 }, 'token-a')).toBe(true);
    expect(claimed?.taskId).toBe(taskId);
    expect((await readTaskRecord(redis, keys, taskId))?.result).toBe(3);
    expect(await queue.depth()).toEqual({ queued: 0, active: 0 });
    expect(await redis.exists(keys.job(taskId), keys.nodeLeases)).toBe(0);
  });

  it('redelivers a task whose lease expired, and the old holder can no longer write or finish it', async () => {
    const taskId = await enqueue();
    await queue.claim(1, 'dead-worker', 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await queue.requeueExpired(1_000)).toEqual([taskId]);
    const record = pendingRecord({ task_id: taskId, worker: 'node', task: 'add', args: [1, 2], total: 1 });
    expect(await queue.writeRecord({ ...record, state: 'PROGRESS' }, 'dead-worker')).toBe(false);
    const [again] = await queue.claim(1, 'live-worker', 10_000);
    expect(again).toMatchObject({ taskId, attempts: 2 });
    expect(await queue.finish({ ...record, state: 'SUCCESS' }, 'dead-worker')).toBe(false);
    expect(await queue.finish({ ...record, state: 'SUCCESS' }, 'live-worker')).toBe(true);
  });

  it('a task moved by BLMOVE whose worker died before claiming it is redelivered', async () => {
    const taskId = await enqueue();
    expect(await queue.waitForTask(blocking, 1)).toBe(taskId); // the worker "dies" here
    expect(await queue.requeueExpired(50)).toEqual([]); // first sighting: the orphan gets a lease
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await queue.requeueExpired(50)).toEqual([taskId]);
    const [claimed] = await queue.claim(1, 'token-b', 10_000);
    expect(claimed?.taskId).toBe(taskId);
  });

  it('extendLeases keeps a live lease and reports leases taken over by another worker', async () => {
    const first = await enqueue();
    const second = await enqueue();
    await queue.claim(2, 'token-a', 60);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await redis.hset(keys.job(second), 'token', 'token-b'); // as if redelivered to worker b
    const lost = await queue.extendLeases([first, second], 'token-a', 10_000);
    expect(lost).toEqual([second]);
    expect(await queue.requeueExpired(1_000)).toEqual([second]);
  });

  it('release hands a task back to the front of the queue', async () => {
    const first = await enqueue();
    const second = await enqueue();
    await queue.claim(1, 'token-a', 10_000);
    const record = pendingRecord({ task_id: first, worker: 'node', task: 'add', args: [1, 2], total: 1 });
    expect(await queue.release({ ...record, status: 'Requeued' }, 'token-a')).toBe(true);
    const claimed = await queue.claim(2, 'token-b', 10_000);
    expect(claimed.map((c) => c.taskId)).toEqual([first, second]);
    expect(claimed[0]?.attempts).toBe(2);
  });
});
