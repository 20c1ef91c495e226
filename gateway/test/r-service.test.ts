/**
 * The gateway's view of the R service's failure modes. nock intercepts the gateway's real fetch
 * calls (each test checks its scope was used), except "refused", which uses a real closed port.
 */
import nock from 'nock';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failed, planTask } from '@switchyard/shared';
import { freePort, startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { buildGateway, type TestGateway } from './helpers.js';

const R_URL = 'http://r-service.test:8000';
let server: RedisServer;
let gateway: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  gateway = buildGateway(server.url, { rServiceUrl: R_URL, rTimeoutMs: 300 });
  await waitFor(() => gateway.redis.status === 'ready', { what: 'gateway redis connection' });
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(async () => {
  nock.enableNetConnect();
  await gateway.close();
  await server.stop();
});

const execute = (body: object = { total: 5 }) => request(gateway.app).post('/r/execute').send(body);

describe('POST /r/execute', () => {
  it('forwards {task_id, task, args} to the R service and answers 202 with the same id', async () => {
    let forwarded: { task_id: string; task: string; args: unknown[] } | undefined;
    const scope = nock(R_URL)
      .post('/tasks', (body) => ((forwarded = body), true))
      .reply(202, (_uri, body) => ({ task_id: (body as { task_id: string }).task_id, status: 'created' }));
    const response = await execute({ total: 5 });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ task_id: forwarded?.task_id, status: 'created' });
    expect(forwarded).toMatchObject({ task: 'long_task', args: [5] });
    expect(scope.isDone()).toBe(true);
  });

  it('validates the R task catalogue before calling the R service', async () => {
    const response = await execute({ task: 'lm_fit', args: [[1, 2], { x: [1, 2] }] });
    expect(response.status).toBe(422);
    expect(response.body.error.fields).toContainEqual({ field: 'args.0', message: 'must hold at least 3 numbers' });
  });

  it('answers 503 when the R service refuses connections, and leaves no record', async () => {
    const closed = await freePort();
    const offline = buildGateway(server.url, { rServiceUrl: `http://127.0.0.1:${closed}`, rTimeoutMs: 1_000 });
    try {
      const response = await request(offline.app).post('/r/execute').send({ total: 5 });
      expect(response.status).toBe(503);
      expect(response.body.error).toMatchObject({
        code: 'r_service_unavailable',
        message: expect.stringMatching(/cannot be reached/),
      });
      expect(await offline.redis.keys(`${offline.keys.prefix}:*`)).toEqual([]);
    } finally {
      await offline.close();
    }
  });

  it('answers 503 when the R service does not answer in time, and leaves no task claiming to exist', async () => {
    let taskId = '';
    const scope = nock(R_URL)
      .post('/tasks', (body: { task_id: string }) => ((taskId = body.task_id), true))
      .delay(2_000)
      .reply(202, {});
    // The slow R service did queue the task before it stalled.
    const queued = (async () => {
      await waitFor(() => taskId !== '', { what: 'the request to reach the R service' });
      const { record, payload } = planTask('r', taskId, { task: 'long_task', args: [3], queue: 'default' });
      expect(await gateway.queues.r.enqueue(record, payload)).toBe('ok');
    })();
    const started = Date.now();
    const response = await execute();
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({
      code: 'r_service_unavailable',
      message: expect.stringMatching(/did not answer within 300 ms/),
    });
    expect(Date.now() - started).toBeLessThan(1_900); // the gateway gave up instead of waiting for the reply
    expect(scope.isDone()).toBe(true);
    await queued;
    expect(await gateway.read(taskId)).toBeNull();
    expect((await gateway.queues.r.claim('default', 10, 'tok', 1_000)).tasks).toEqual([]);
  });

  it('forwards the resolved queue and the R service token', async () => {
    const tokened = buildGateway(server.url, {
      rServiceUrl: R_URL,
      rTimeoutMs: 300,
      taskRoutes: 'r:lm_fit=models',
      rServiceToken: 't'.repeat(40),
    });
    try {
      let seen: { queue?: string } = {};
      const scope = nock(R_URL, { reqheaders: { authorization: `Bearer ${'t'.repeat(40)}` } })
        .post('/tasks', (body: { queue?: string }) => ((seen = body), true))
        .reply(202, (_uri, body) => ({ task_id: (body as { task_id: string }).task_id, status: 'created' }));
      const response = await request(tokened.app)
        .post('/r/execute')
        .send({ task: 'lm_fit', args: [[1, 2, 3], { x: [1, 2, 3] }] });
      expect(response.status).toBe(202);
      expect(seen.queue).toBe('models');
      expect(scope.isDone()).toBe(true);
    } finally {
      await tokened.close();
    }
  });

  it('answers 503 naming the token when the R service refuses the gateway (401)', async () => {
    nock(R_URL)
      .post('/tasks')
      .reply(401, { error: { code: 'unauthorized', message: 'bad token' } });
    const response = await execute();
    expect(response.status).toBe(503);
    expect(response.body.error.message).toMatch(/R_SERVICE_TOKEN/);
  });

  it('answers 503 when the R service fails with a 5xx', async () => {
    const scope = nock(R_URL).post('/tasks').reply(500, 'Error in eval: object not found');
    const response = await execute();
    expect(response.status).toBe(503);
    expect(response.body.error).toEqual({ code: 'r_service_unavailable', message: 'The R service failed (HTTP 500)' });
    expect(scope.isDone()).toBe(true);
  });

  it('answers 503 when the R service accepts with a garbage body', async () => {
    const scope = nock(R_URL).post('/tasks').reply(202, '<html>proxy</html>');
    const response = await execute();
    expect(response.status).toBe(503);
    expect(response.body.error.message).toMatch(/unexpected body/);
    expect(scope.isDone()).toBe(true);
  });

  it('passes the R service 429 (its queue is full) on with Retry-After', async () => {
    const message = 'Queue default holds its limit of 100 tasks (MAX_QUEUE_LENGTH); retry later';
    const scope = nock(R_URL)
      .post('/tasks')
      .reply(429, { error: { code: 'queue_full', message } }, { 'Retry-After': '3' });
    const response = await execute();
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(response.body.error).toEqual({ code: 'queue_full', message });
    expect(scope.isDone()).toBe(true);
  });

  it('passes an R service 4xx on with its message and fields', async () => {
    const fields = [{ field: 'args.1.x', message: 'must have as many numbers as y' }];
    const scope = nock(R_URL)
      .post('/tasks')
      .reply(422, { error: { code: 'validation_failed', message: 'Invalid request: args.1.x …', fields } });
    const response = await execute({ task: 'lm_fit', args: [[1, 2, 3], { x: [1, 2, 3] }] });
    expect(response.status).toBe(422);
    expect(response.body.error).toEqual({ code: 'validation_failed', message: 'Invalid request: args.1.x …', fields });
    expect(scope.isDone()).toBe(true);
  });

  it('treats a 4xx with a garbage body as the R service failing', async () => {
    const scope = nock(R_URL).post('/tasks').reply(418, 'teapot');
    const response = await execute();
    expect(response.status).toBe(503);
    expect(scope.isDone()).toBe(true);
  });
});

describe('R dead letters', () => {
  it('are requeued by the gateway itself, through Redis, without calling the R service', async () => {
    const taskId = '2b1a3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    const { record, payload } = planTask('r', taskId, { task: 'summary_stats', args: [[1, 2]], queue: 'default' });
    await gateway.queues.r.enqueue(record, payload);
    await gateway.queues.r.claim('default', 10, 'r-tok', 10_000);
    await gateway.queues.r.finish(failed(record, 'boom'), 'r-tok', true);
    const listed = await request(gateway.app).get('/r/dead-letters');
    expect(listed.body.tasks.map((t: { task_id: string }) => t.task_id)).toContain(taskId);
    const response = await request(gateway.app).post('/r/dead-letters/requeue').send({ task_id: taskId });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ task_id: taskId, status: 'created' });
    expect(await gateway.read(taskId)).toMatchObject({
      state: 'PENDING',
      status: 'Requeued by an operator',
      attempts: 0,
    });
    const again = await request(gateway.app).post('/r/dead-letters/requeue').send({ task_id: taskId });
    expect(again.status).toBe(404);
  });
});
