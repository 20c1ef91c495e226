/** Options, idempotency, cancellation and dead letters as a caller of the gateway sees them. */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codec, failed, readPayload, type TaskQueues } from '@switchyard/shared';
import { startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { buildGateway, type TestGateway } from './helpers.js';

let server: RedisServer;
let gateway: TestGateway;
let queue: TaskQueues;

beforeAll(async () => {
  server = await startRedisServer();
  gateway = buildGateway(server.url);
  queue = gateway.queues.node;
  await waitFor(() => gateway.redis.status === 'ready', { what: 'gateway redis connection' });
});
afterAll(async () => {
  await gateway.close();
  await server.stop();
});

const execute = (body: object, headers: Record<string, string> = {}) =>
  request(gateway.app).post('/node/execute').set(headers).send(body);
const cancel = (taskId: string) => request(gateway.app).post('/node/cancel').send({ task_id: taskId });

describe('execute options', () => {
  it('stores the resolved options with the task and shows max_attempts and expires_at in its record', async () => {
    const response = await execute({
      task: 'add',
      args: [1, 2],
      options: { max_attempts: 4, backoff: { type: 'exponential', delay_ms: 500 }, time_limit_ms: 2_000, expires: 60 },
    });
    expect(response.status).toBe(202);
    const record = await gateway.read(response.body.task_id);
    expect(record).toMatchObject({ max_attempts: 4, expires_at: expect.any(String) });
    const expiresIn = Date.parse(record!.expires_at!) - Date.now();
    expect(expiresIn).toBeGreaterThan(50_000);
    expect(expiresIn).toBeLessThanOrEqual(60_000);
    const jobKey = gateway.keys.queue('node', 'default').job(response.body.task_id);
    const job = await gateway.redis.hgetallBuffer(jobKey);
    // The job keeps only the options that differ from add's defaults (no retry, priority 5, no limits)…
    expect((codec.decode(job.payload!) as { options: object }).options).toEqual({
      max_attempts: 4,
      backoff: { type: 'exponential', delay_ms: 500, jitter: true },
      time_limit_ms: 2_000,
      expires_at: record!.expires_at,
    });
    // …and its worker reads every option back.
    const { options } = readPayload('node', job.payload!, String(job.created_at), String(job.traceparent ?? ''));
    expect(options).toEqual({
      max_attempts: 4,
      backoff: { type: 'exponential', delay_ms: 500, jitter: true },
      soft_time_limit_ms: null,
      time_limit_ms: 2_000,
      expires_at: record!.expires_at,
      priority: 5,
      eta: null,
    });
  });

  it('uses the task defaults when no options are given (long_task retries up to 3 times)', async () => {
    const response = await execute({ total: 2 });
    expect((await gateway.read(response.body.task_id))?.max_attempts).toBe(3);
  });

  it.each([
    [{ max_attempts: 0 }, 'options.max_attempts', /between 1 and 10/],
    [{ max_attempts: 11 }, 'options.max_attempts', /between 1 and 10/],
    [{ backoff: { type: 'linear', delay_ms: 1 } }, 'options.backoff.type', /fixed or exponential/],
    [{ time_limit_ms: 100, soft_time_limit_ms: 200 }, 'options.soft_time_limit_ms', /not be longer than time_limit_ms/],
    [{ expires: 'tomorrow' }, 'options.expires', /ISO 8601/],
    [{ expires: 0 }, 'options.expires', /greater than 0/],
    [{ expires: 2_592_001 }, 'options.expires', /must be at most 2592000/],
    [{ expires: true }, 'options.expires', /must be an ISO 8601 date-time or a number of seconds/],
    [{ priority: 10 }, 'options.priority', /between 0 and 9/],
    [{ priority: 1.5 }, 'options.priority', /between 0 and 9/],
    [{ countdown: -1 }, 'options.countdown', /at least 0/],
    [{ countdown: 'soon' }, 'options.countdown', /number of seconds/],
    [{ eta: 'tomorrow' }, 'options.eta', /ISO 8601/],
    [{ eta: '2999-01-01T00:00:00Z' }, 'options.eta', /30 days ahead/],
    [{ countdown: 5, eta: new Date(Date.now() + 60_000).toISOString() }, 'options.countdown', /together with eta/],
    [{ prio: 1 }, 'options.prio', /not an allowed field/],
  ])('rejects options %j naming %s', async (options, field, message) => {
    const response = await execute({ total: 2, options });
    expect(response.status).toBe(422);
    expect(response.body.error.fields).toContainEqual({ field, message: expect.stringMatching(message) });
  });
});

describe('Idempotency-Key', () => {
  it('the same key returns the same task id without queueing twice, and says it replayed', async () => {
    const before = (await queue.stats('default')).waiting;
    const first = await execute({ task: 'add', args: [1, 1] }, { 'Idempotency-Key': 'order-42' });
    const second = await execute({ task: 'add', args: [1, 1] }, { 'Idempotency-Key': 'order-42' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.task_id).toBe(first.body.task_id);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect((await queue.stats('default')).waiting).toBe(before + 1);
    const other = await execute({ task: 'add', args: [1, 1] }, { 'Idempotency-Key': 'order-43' });
    expect(other.body.task_id).not.toBe(first.body.task_id);
  });

  it('the same key with a different request answers 409 and starts nothing', async () => {
    const first = await execute({ task: 'add', args: [2, 2] }, { 'Idempotency-Key': 'order-77' });
    expect(first.status).toBe(202);
    const before = (await queue.stats('default')).waiting;
    const different = await execute({ task: 'add', args: [2, 3] }, { 'Idempotency-Key': 'order-77' });
    expect(different.status).toBe(409);
    expect(different.body.error).toMatchObject({
      code: 'idempotency_conflict',
      message: expect.stringMatching(/different request/),
    });
    expect((await queue.stats('default')).waiting).toBe(before);
    // The same request written with its keys in another order is the same request.
    const reordered = await request(gateway.app)
      .post('/node/execute')
      .set({ 'Idempotency-Key': 'order-77', 'content-type': 'application/json' })
      .send('{"args": [2, 2], "task": "add"}');
    expect(reordered.status).toBe(202);
    expect(reordered.body.task_id).toBe(first.body.task_id);
  });

  it('keys are scoped per worker kind: the same key on /r is another request', async () => {
    const node = await execute({ total: 1 }, { 'Idempotency-Key': 'shared-key' });
    expect(node.status).toBe(202);
    const r = await request(gateway.app).post('/r/execute').set({ 'Idempotency-Key': 'shared-key' }).send({ total: 1 });
    expect(r.status).toBe(503); // a fresh request: it went to the (absent) R service instead of replaying
  });

  it('rejects a malformed key naming the header', async () => {
    const response = await execute({ total: 1 }, { 'Idempotency-Key': 'has spaces' });
    expect(response.status).toBe(422);
    expect(response.body.error.fields).toEqual([
      { field: 'Idempotency-Key', message: expect.stringMatching(/printable/) },
    ]);
  });
});

describe('POST /node/cancel', () => {
  it('revokes a queued task at once and returns its REVOKED record; it never runs', async () => {
    const accepted = await execute({ total: 5 });
    const response = await cancel(accepted.body.task_id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      task_id: accepted.body.task_id,
      state: 'REVOKED',
      finished_at: expect.any(String),
    });
    expect(await gateway.redis.zscore(gateway.keys.queue('node', 'default').wait, accepted.body.task_id)).toBeNull();
    const again = await cancel(accepted.body.task_id);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'task_finished', message: expect.stringContaining('REVOKED') });
  });

  it('asks the worker to stop a running task (202 revoking)', async () => {
    const accepted = await execute({ total: 5 });
    await queue.claim('default', 1_000, 'some-worker', 10_000);
    const response = await cancel(accepted.body.task_id);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ task_id: accepted.body.task_id, status: 'revoking' });
  });

  it('answers 404 for an unknown task and 422 for a bad id', async () => {
    expect((await cancel('2b1a3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d')).status).toBe(404);
    const bad = await request(gateway.app).post('/node/cancel').send({ task_id: 'x' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields[0].field).toBe('task_id');
  });
});

describe('dead letters', () => {
  it('lists tasks that failed every attempt and requeues one with its attempts reset', async () => {
    const accepted = await execute({ task: 'add', args: [2, 2] });
    const taskId = accepted.body.task_id as string;
    const claimed = await queue.claim('default', 1_000, 'worker-x', 10_000);
    expect(claimed.tasks.map((c) => c.taskId)).toContain(taskId);
    const record = (await gateway.read(taskId))!;
    await queue.finish(failed({ ...record, attempts: 1 }, 'boom'), 'worker-x', true);

    const listed = await request(gateway.app).get('/node/dead-letters');
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBeGreaterThanOrEqual(1);
    expect(listed.body.tasks[0]).toMatchObject({ task_id: taskId, state: 'FAILURE', error: 'boom' });

    const requeued = await request(gateway.app).post('/node/dead-letters/requeue').send({ task_id: taskId });
    expect(requeued.status).toBe(202);
    expect(await gateway.read(taskId)).toMatchObject({ state: 'PENDING', attempts: 0 });
    expect(await gateway.redis.zscore(gateway.keys.queue('node', 'default').wait, taskId)).not.toBeNull();
    const twice = await request(gateway.app).post('/node/dead-letters/requeue').send({ task_id: taskId });
    expect(twice.status).toBe(404);
  });

  it('validates the listing limit', async () => {
    const response = await request(gateway.app).get('/node/dead-letters?limit=0');
    expect(response.status).toBe(422);
    expect(response.body.error.fields[0].field).toBe('limit');
  });
});
