/** /r/collect tells the truth about tasks whose R service died (no heartbeat). */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codec, pendingRecord, type TaskRecord } from '@switchyard/shared';
import { startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { buildGateway, type TestGateway } from './helpers.js';

let server: RedisServer;
let gateway: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  gateway = buildGateway(server.url);
  await waitFor(() => gateway.redis.status === 'ready');
});
afterAll(async () => {
  await gateway.close();
  await server.stop();
});

/** Writes a record as the R service would, last changed `ageMs` ago, with or without its heartbeat. */
async function rTaskInProgress(ageMs: number, heartbeat: boolean): Promise<TaskRecord> {
  const taskId = randomUUID();
  const updated = new Date(Date.now() - ageMs).toISOString();
  const record: TaskRecord = {
    ...pendingRecord({ task_id: taskId, worker: 'r', task: 'long_task', args: [10], total: 10 }),
    state: 'PROGRESS',
    current: 4,
    status: 'Step 4 of 10',
    attempts: 1,
    started_at: updated,
    updated_at: updated,
  };
  await gateway.redis.set(gateway.keys.task(taskId), codec.encode(record), 'EX', 3_600);
  if (heartbeat) await gateway.redis.set(gateway.keys.rHeartbeat(taskId), '1', 'EX', 15);
  return record;
}

const collect = (taskId: string) => request(gateway.app).get('/r/collect').query({ task_id: taskId });

describe('R tasks whose service died', () => {
  it('a stale PROGRESS record without a heartbeat is reported, and stored, as FAILURE "worker lost"', async () => {
    const record = await rTaskInProgress(30_000, false);
    const response = await collect(record.task_id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      state: 'FAILURE',
      current: 4,
      error: expect.stringMatching(/^worker lost/),
      finished_at: expect.any(String),
    });
    const stored = codec.decode((await gateway.redis.getBuffer(gateway.keys.task(record.task_id)))!) as TaskRecord;
    expect(stored.state).toBe('FAILURE');
    const deadLetters = await request(gateway.app).get('/r/dead-letters');
    expect(deadLetters.body.tasks.map((t: TaskRecord) => t.task_id)).toContain(record.task_id);
  });

  it('a record whose heartbeat is alive stays as it is, however old', async () => {
    const record = await rTaskInProgress(30_000, true);
    expect((await collect(record.task_id)).body).toMatchObject({ state: 'PROGRESS', current: 4 });
  });

  it('a fresh record is left alone while its heartbeat may still be on its way', async () => {
    const record = await rTaskInProgress(0, false);
    expect((await collect(record.task_id)).body.state).toBe('PROGRESS');
  });

  it('cancelling a lost task is refused as finished', async () => {
    const record = await rTaskInProgress(30_000, false);
    const response = await request(gateway.app).post('/r/cancel').send({ task_id: record.task_id });
    expect(response.status).toBe(409);
  });
});
