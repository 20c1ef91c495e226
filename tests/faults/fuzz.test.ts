/**
 * Property-based fuzzing of every route (fast-check): random JSON, wrong types, huge numbers,
 * unicode, missing fields, malformed bodies, random query strings and headers. The gateway must never
 * answer 5xx (its dependencies are up: a real Redis and a stand-in R service that accepts), never
 * crash, and every 4xx must be a JSON error that names the problem.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type TestGateway } from '../../gateway/test/helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const RUNS = 4_000;
const KEY = 'fuzz-key-0123456789abcdef';
let redisServer: RedisServer;
let rStandIn: Server;
let gateway: TestGateway;

beforeAll(async () => {
  redisServer = await startRedisServer();
  // Accepts every task like the R service would; the R service's own failure modes have their own tests.
  rStandIn = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const taskId = (JSON.parse(body || '{}') as { task_id?: string }).task_id;
      res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ task_id: taskId, status: 'created' }));
    });
  });
  rStandIn.listen(0, '127.0.0.1');
  await once(rStandIn, 'listening');
  const address = rStandIn.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  gateway = buildGateway(redisServer.url, {
    rServiceUrl: `http://127.0.0.1:${port}`,
    apiKeys: [KEY],
    bodyLimitBytes: 4_096,
    rateLimitPerMinute: 1_000_000,
  });
  await waitFor(() => gateway.redis.status === 'ready', { what: 'gateway redis connection' });
});
afterAll(async () => {
  await gateway.close();
  rStandIn.close();
  await redisServer.stop();
});

const ROUTES = [
  ['post', '/node/execute'],
  ['get', '/node/collect'],
  ['post', '/node/cancel'],
  ['post', '/r/execute'],
  ['get', '/r/collect'],
  ['post', '/r/cancel'],
  ['post', '/celery/execute'],
  ['get', '/celery/collect'],
  ['get', '/node/dead-letters'],
  ['post', '/node/dead-letters/requeue'],
  ['get', '/r/dead-letters'],
  ['post', '/rserve/execute'],
  ['get', '/queues'],
  ['get', '/queues/node/default'],
  ['get', '/queues/r/x%3Ay'],
  ['post', '/queues/node/fuzz/pause'],
  ['post', '/queues/python/default/resume'],
  ['get', '/workers'],
  ['post', '/workflows'],
  ['get', '/workflows/0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b'],
  ['get', '/workflows/not-an-id'],
  ['post', '/workflows/0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b/cancel'],
  ['get', '/workflows'],
  ['get', '/tasks/running'],
  ['get', '/tasks/recent'],
  ['get', '/tasks/0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b'],
  ['get', '/tasks/0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b/events'],
  ['get', '/tasks/not-an-id/events'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['get', '/openapi.json'],
  ['delete', '/node/execute'],
  ['get', '/nowhere'],
] as const;

const taskNames = fc.constantFrom(
  'long_task',
  'add',
  'factorial',
  'matmul',
  'make_dataset',
  'fit_report',
  'lm_fit',
  'summary_stats',
  'rm -rf',
  '',
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53, 10_001, 50_001, 201, 0.5),
);
const value: fc.Arbitrary<unknown> = fc.oneof(number, fc.string(), fc.boolean(), fc.constant(null), fc.jsonValue());
/** Bodies near the valid ones (where bugs hide) and far from them. */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 });
const body = fc.oneof(
  fc.record({ total: fc.integer({ min: 1, max: 10_000 }) }),
  fc.record({ task: fc.constant('add'), args: fc.tuple(finite, finite) }),
  fc.record({ total: value }, { requiredKeys: [] }),
  fc.record({ task: taskNames, args: fc.array(value, { maxLength: 4 }) }, { requiredKeys: [] }),
  fc.record({
    task: taskNames,
    args: fc.array(fc.oneof(number, fc.array(number), fc.dictionary(fc.string(), fc.array(number))), { maxLength: 3 }),
    options: fc.dictionary(
      fc.constantFrom(
        'max_attempts',
        'backoff',
        'time_limit_ms',
        'soft_time_limit_ms',
        'expires',
        'priority',
        'countdown',
        'eta',
        'x',
      ),
      value,
    ),
  }),
  fc.record({ task_id: fc.oneof(fc.uuid(), fc.string()) }, { requiredKeys: [] }),
  fc.record({ total: fc.integer({ min: 1, max: 3 }), queue: fc.oneof(fc.string(), value) }),
  workflowBody(),
  fc.jsonValue(),
  fc.anything(),
);
/** Canvases near valid ones: chains, groups and chords of random steps, nested a little. */
function workflowBody(): fc.Arbitrary<unknown> {
  const step = fc.record(
    {
      worker: fc.constantFrom('node', 'r', 'python', 7),
      task: taskNames,
      args: fc.array(fc.oneof(number, fc.array(number), value), { maxLength: 3 }),
      queue: fc.oneof(fc.constantFrom('default', 'cpu', 'a:b'), value),
      pass_result: fc.oneof(fc.boolean(), value),
      on_failure: fc.constantFrom('fail', 'continue', 'ignore'),
    },
    { requiredKeys: ['worker', 'task'] },
  );
  const { node } = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      step,
      fc.record({ chain: fc.array(tie('node'), { maxLength: 4 }) }),
      fc.record({ group: fc.array(tie('node'), { maxLength: 4 }) }),
      fc.record({
        chord: fc.record({ header: fc.array(tie('node'), { maxLength: 3 }), body: tie('node') }, { requiredKeys: [] }),
      }),
    ),
  }));
  return node;
}

const rawBody = fc.oneof(
  body.map((b) => {
    try {
      return JSON.stringify(b) ?? 'null';
    } catch {
      return '{}';
    }
  }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '{"total": 3', '[]', 'null', '"x"', '{"total": 1e999}', 'x'.repeat(5_000)),
);
const query = fc.oneof(
  fc.record({ task_id: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 40 })) }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 20 })),
);
const printable = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
});
const headers = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'foo'),
    ),
    'idempotency-key': fc.oneof(printable, fc.string({ maxLength: 300 })),
    auth: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('bearer', 'x-api-key') },
      fc.constantFrom('wrong', 'none', 'garbage'),
    ),
  },
  { requiredKeys: ['auth', 'content-type'] },
);

describe('fault: fuzzing every route', () => {
  it(`${RUNS} random requests: no 5xx, no crash, every error names the problem`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        rawBody,
        query,
        headers,
        async ([method, path], payload, params, h) => {
          let call = request(gateway.app)[method](path).query(params);
          if (h['content-type']) call = call.set('content-type', h['content-type']);
          if (h['idempotency-key']) {
            try {
              call = call.set('idempotency-key', h['idempotency-key']);
            } catch {
              // node refuses to send some header values at all; nothing reaches the gateway then
            }
          }
          if (h.auth === 'bearer') call = call.set('authorization', `Bearer ${KEY}`);
          if (h.auth === 'x-api-key') call = call.set('x-api-key', KEY);
          if (h.auth === 'wrong') call = call.set('x-api-key', 'wrong-key-but-long-enough');
          if (h.auth === 'garbage') call = call.set('authorization', 'Bearer');
          let response: request.Response;
          try {
            response = method === 'post' ? await call.send(payload) : await call;
          } catch (error) {
            if (/Invalid character in header/.test(String(error))) return; // refused by the client, not sent
            throw error;
          }
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.status, `${method} ${path} ${payload.slice(0, 80)}`).toBeLessThan(500);
          if (response.status >= 400) {
            expect(response.type).toBe('application/json');
            expect(response.body.error.code).toEqual(expect.any(String));
            expect(response.body.error.message.length).toBeGreaterThan(5);
            expect(JSON.stringify(response.body)).not.toMatch(/at .+\.(ts|js):\d+/); // no stack trace
          }
          if (response.status === 422) {
            expect(response.body.error.fields.length).toBeGreaterThan(0);
            for (const { field, message } of response.body.error.fields) {
              expect(field.length).toBeGreaterThan(0);
              expect(response.body.error.message).toContain(field);
              expect(message.length).toBeGreaterThan(3);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    console.log(`fuzz test: ${RUNS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(statuses.has(202)).toBe(true); // the generators reach valid requests too
    expect(statuses.has(422)).toBe(true);
  }, 240_000);
});
