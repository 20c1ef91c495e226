import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { buildGateway, type TestGateway } from './helpers.js';

let server: RedisServer;
let gateway: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  gateway = buildGateway(server.url);
  await waitFor(() => gateway.redis.status === 'ready', { what: 'gateway redis connection' });
});
afterAll(async () => {
  await gateway.close();
  await server.stop();
});

const post = (path: string, body: unknown) =>
  request(gateway.app)
    .post(path)
    .send(body as object);

function expectFieldError(response: request.Response, status: number, field: string, message?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.body.error.code).toBe('validation_failed');
  const fields = response.body.error.fields as { field: string; message: string }[];
  const match = fields.find((f) => f.field === field);
  expect(match, `no error for field ${field} in ${JSON.stringify(fields)}`).toBeDefined();
  if (message) expect(match?.message).toMatch(message);
  expect(response.body.error.message).toContain(field);
}

describe('POST /node/execute', () => {
  it('accepts the seed body {"total": 30} with 202 {task_id, status: "created"} and queues long_task', async () => {
    const response = await post('/node/execute', { total: 30 });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ task_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'created' });
    const record = await gateway.read(response.body.task_id);
    expect(record).toMatchObject({ state: 'PENDING', task: 'long_task', args: [30], total: 30, current: 0 });
    expect(record).toMatchObject({ queue: 'default', priority: 5, eta: null });
    expect((await gateway.queues.node.stats('default')).waiting).toBeGreaterThanOrEqual(1);
  });

  it.each([
    [{ task: 'add', args: [4, 6] }, 1],
    [{ task: 'factorial', args: [20000] }, 1],
    [{ task: 'matmul', args: [20, 20] }, 1],
    [{ task: 'long_task', args: [7] }, 7],
  ])('accepts the named form %j', async (body, total) => {
    const response = await post('/node/execute', body);
    expect(response.status).toBe(202);
    const record = await gateway.read(response.body.task_id);
    expect(record).toMatchObject({ task: body.task, args: body.args, total });
  });

  it('the seed path /celery/execute still works and is collected at /celery/collect', async () => {
    const accepted = await post('/celery/execute', { total: 2 });
    expect(accepted.status).toBe(202);
    const collected = await request(gateway.app).get('/celery/collect').query({ task_id: accepted.body.task_id });
    expect(collected.status).toBe(200);
    expect(collected.body).toMatchObject({ current: 0, total: 2, status: 'Pending...', result: null });
  });

  it('answers 400 naming the problem for malformed JSON', async () => {
    const response = await request(gateway.app)
      .post('/node/execute')
      .set('content-type', 'application/json')
      .send('{"total": 3');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining('JSON') });
  });

  it('answers 415 when the body is not JSON', async () => {
    const response = await request(gateway.app).post('/node/execute').type('form').send('total=3');
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('unsupported_media_type');
  });

  it('answers 413 for a body over the limit, saying what the limit is', async () => {
    const response = await post('/node/execute', { total: 3, padding: 'x'.repeat(20_000) });
    expect(response.status).toBe(413);
    expect(response.body.error).toEqual({
      code: 'payload_too_large',
      message: 'The request body is larger than the gateway accepts: at most 16384 bytes (BODY_LIMIT_BYTES)',
    });
  });

  it.each([
    ['get', '/node/execute', 'POST'],
    ['post', '/node/collect', 'GET'],
    ['delete', '/workflows', 'POST, GET'],
    ['put', '/queues/node/default/pause', 'POST'],
  ] as const)('answers 405 naming the allowed method for %s %s', async (method, path, allowed) => {
    const response = await request(gateway.app)[method](path);
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe(allowed);
    expect(response.body.error).toMatchObject({
      code: 'method_not_allowed',
      message: expect.stringContaining(allowed),
    });
  });

  it('names a missing field', async () => {
    expectFieldError(await post('/node/execute', {}), 422, 'total', /required/);
  });

  it('names an extra field', async () => {
    expectFieldError(await post('/node/execute', { total: 3, priority: 1 }), 422, 'priority', /not an allowed field/);
    expectFieldError(await post('/node/execute', { task: 'add', args: [1, 2], x: 1 }), 422, 'x');
  });

  it.each([0, -3, 10_001, 2.5])('names total when it is out of range or not whole (%s)', async (total) => {
    expectFieldError(await post('/node/execute', { total }), 422, 'total', /whole number between 1 and 10000/);
  });

  it('names total when it has the wrong type', async () => {
    expectFieldError(await post('/node/execute', { total: '30' }), 422, 'total', /whole number/);
  });

  it('names task when the task is unknown, listing the known ones', async () => {
    expectFieldError(await post('/node/execute', { task: 'rm_rf', args: [] }), 422, 'task', /add, factorial/);
  });

  it('an R-only task is unknown to the Node worker', async () => {
    expectFieldError(await post('/node/execute', { task: 'lm_fit', args: [[1], { x: [1] }] }), 422, 'task');
  });

  it('names the argument with the wrong type, count or range', async () => {
    expectFieldError(await post('/node/execute', { task: 'add', args: [1, 'two'] }), 422, 'args.1', /number/);
    expectFieldError(await post('/node/execute', { task: 'add', args: [1] }), 422, 'args', /at least 2/);
    expectFieldError(await post('/node/execute', { task: 'add', args: [1, 2, 3] }), 422, 'args', /at most 2/);
    expectFieldError(
      await post('/node/execute', { task: 'matmul', args: [201, 2] }),
      422,
      'args.0',
      /between 1 and 200/,
    );
    expectFieldError(await post('/node/execute', { task: 'factorial', args: [50_001] }), 422, 'args.0');
    expectFieldError(await post('/node/execute', { task: 'add' }), 422, 'args', /required/);
  });

  it('names the body when it is not an object', async () => {
    expectFieldError(await post('/node/execute', [1, 2]), 422, '(body)');
    const nullBody = await request(gateway.app).post('/node/execute').type('json').send('null');
    expectFieldError(nullBody, 422, '(body)');
  });
});

describe('GET /node/collect', () => {
  it('returns the seed fields and the rest of the record', async () => {
    const accepted = await post('/node/execute', { task: 'add', args: [1, 2] });
    const response = await request(gateway.app).get('/node/collect').query({ task_id: accepted.body.task_id });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      task_id: accepted.body.task_id,
      worker: 'node',
      state: 'PENDING',
      current: 0,
      total: 1,
      status: 'Pending...',
      result: null,
      error: null,
      attempts: 0,
    });
  });

  it('answers 404 for an unknown id', async () => {
    const response = await request(gateway.app)
      .get('/node/collect')
      .query({ task_id: '2b1a3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' });
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'task_not_found', message: expect.stringContaining('2b1a3c4d') });
  });

  it('answers 404 at /r/collect for a Node task id', async () => {
    const accepted = await post('/node/execute', { total: 1 });
    const response = await request(gateway.app).get('/r/collect').query({ task_id: accepted.body.task_id });
    expect(response.status).toBe(404);
  });

  it('names task_id when it is missing or not a UUID', async () => {
    expectFieldError(await request(gateway.app).get('/node/collect'), 422, 'task_id', /required/);
    expectFieldError(await request(gateway.app).get('/node/collect?task_id=abc'), 422, 'task_id', /UUID/);
    expectFieldError(await request(gateway.app).get('/node/collect?task_id=a&task_id=b'), 422, 'task_id');
  });
});

describe('operations and docs', () => {
  it('GET /healthz and /readyz answer while Redis is up', async () => {
    expect((await request(gateway.app).get('/healthz')).body).toEqual({ status: 'ok' });
    // Ready without any worker: tasks wait in their queue.
    expect((await request(gateway.app).get('/readyz')).body).toEqual({ status: 'ready', workers: { node: 0, r: 0 } });
  });

  it('GET /openapi.json documents every route with the request schemas', async () => {
    const response = await request(gateway.app).get('/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body as { openapi: string; paths: Record<string, unknown>; components: { schemas: object } };
    expect(doc.openapi).toBe('3.1.0');
    const routes = ['node', 'r', 'celery', 'rserve'].flatMap((w) => [`/${w}/execute`, `/${w}/collect`, `/${w}/cancel`]);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        ...routes,
        ...['node', 'r'].flatMap((w) => [`/${w}/dead-letters`, `/${w}/dead-letters/requeue`]),
        '/queues',
        '/queues/{kind}/{name}',
        '/queues/{kind}/{name}/pause',
        '/queues/{kind}/{name}/resume',
        '/workers',
        '/workflows',
        '/workflows/{id}',
        '/workflows/{id}/cancel',
        '/workflows/{id}/events',
        '/tasks/{id}',
        '/tasks/{id}/events',
        '/tasks/running',
        '/tasks/recent',
        '/events',
        '/metrics',
        '/healthz',
        '/readyz',
      ].sort(),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'SeedExecuteRequest',
        'NodeTask_add',
        'RTask_lm_fit',
        'TaskRecord',
        'ErrorResponse',
        'TaskOptions',
        'Canvas',
        'Workflow',
        'WorkflowStep',
        'WorkflowAccepted',
      ]),
    );
  });

  it('GET /docs serves the Swagger UI page', async () => {
    const response = await request(gateway.app).get('/docs/').redirects(1);
    expect(response.status).toBe(200);
    expect(response.text).toContain('swagger-ui');
  });

  it('answers 404 with a JSON error for an unknown route', async () => {
    const response = await request(gateway.app).get('/nope');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('route_not_found');
  });
});
