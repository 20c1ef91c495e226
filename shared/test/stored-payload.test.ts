/** How a payload is kept in its job hash (shared/src/stored-payload.ts), against a real redis-server. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codec } from '../src/codec.js';
import { createKeyLayout } from '../src/keys.js';
import { NO_RETRY, TASK_OPTION_NAMES, resolveOptions } from '../src/options.js';
import { planTask } from '../src/plan.js';
import { TaskQueues } from '../src/queue.js';
import { createRedis, type Redis } from '../src/redis.js';
import { readPayload, storePayload } from '../src/stored-payload.js';
import { newTraceparent } from '../src/trace.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, 'worker');
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const traceparent = newTraceparent();

describe('a stored payload', () => {
  it('compares every option with its default (TASK_OPTION_NAMES lists them all)', () => {
    expect(Object.keys(resolveOptions(NO_RETRY))).toEqual([...TASK_OPTION_NAMES]);
  });

  it('keeps only the options that differ from the task defaults, and reads back whole', () => {
    const plain = planTask('node', randomUUID(), {
      task: 'long_task',
      args: [3],
      queue: 'default',
      traceparent,
    }).payload;
    const stored = storePayload('node', plain);
    expect(codec.decode(stored.payload)).toEqual({ task: 'long_task', args: [3], options: {} });
    expect(stored).toMatchObject({ created_at: plain.created_at, traceparent });
    expect(readPayload('node', stored.payload, stored.created_at, stored.traceparent)).toEqual(plain);

    const options = { max_attempts: 1, priority: 9, time_limit_ms: 500, countdown: 30 };
    const asked = planTask('node', randomUUID(), { task: 'long_task', args: [3], queue: 'default', options }).payload;
    const storedAsked = storePayload('node', asked);
    expect((codec.decode(storedAsked.payload) as { options: object }).options).toEqual({
      max_attempts: 1,
      time_limit_ms: 500,
      priority: 9,
      eta: asked.options.eta,
    });
    expect(storedAsked.traceparent).toBe('');
    expect(readPayload('node', storedAsked.payload, storedAsked.created_at, '')).toEqual(asked);
  });

  it("keeps a workflow step's ids, and an R task's against the R defaults", () => {
    const step = { workflow_id: randomUUID(), parent_id: null, created_at: '2026-12-01T00:00:00.000Z' };
    const plan = planTask(
      'r',
      randomUUID(),
      { task: 'summary_stats', args: [[1, 2]], queue: 'models' },
      Date.now(),
      step,
    );
    const stored = storePayload('r', plan.payload);
    expect(readPayload('r', stored.payload, stored.created_at, stored.traceparent)).toEqual(plan.payload);
  });

  it('of a job written before the split (created_at and traceparent inside it) reads back the same', () => {
    const plain = planTask('node', randomUUID(), { task: 'add', args: [1, 2], queue: 'default', traceparent }).payload;
    expect(readPayload('node', codec.encode(plain), '', '')).toEqual(plain);
  });

  it("leaves a waiting long_task(1)'s job hash in Redis's compact encoding", async () => {
    const keys = createKeyLayout(uniquePrefix('payload'));
    const queues = new TaskQueues(redis, keys, 'node', 3_600);
    const { record, payload } = planTask('node', randomUUID(), {
      task: 'long_task',
      args: [1],
      queue: 'default',
      traceparent,
    });
    expect(await queues.enqueue(record, payload)).toBe('ok');
    const job = keys.queue('node', 'default').job(record.task_id);
    expect(await redis.call('OBJECT', 'ENCODING', job)).toBe('listpack');
    const { tasks } = await queues.claim('default', 1, 'tok', 10_000);
    expect(tasks[0]?.payload).toEqual(payload);
  });
});
