/** API keys on every route, and the per-caller rate limit. */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { buildGateway, type TestGateway } from './helpers.js';

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'other-key-0123456789abcdef';
let server: RedisServer;
let gateway: TestGateway;
let closedDocs: TestGateway;

const TASK_ID = '2b1a3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
/** Every route that needs a key, with a request that is valid apart from the key. */
const PROTECTED: [method: 'get' | 'post', path: string, body?: object][] = [
  ['post', '/node/execute', { total: 1 }],
  ['get', `/node/collect?task_id=${TASK_ID}`],
  ['post', '/node/cancel', { task_id: TASK_ID }],
  ['post', '/r/execute', { total: 1 }],
  ['get', `/r/collect?task_id=${TASK_ID}`],
  ['post', '/r/cancel', { task_id: TASK_ID }],
  ['post', '/celery/execute', { total: 1 }],
  ['get', `/celery/collect?task_id=${TASK_ID}`],
  ['post', '/celery/cancel', { task_id: TASK_ID }],
  ['get', '/node/dead-letters'],
  ['post', '/node/dead-letters/requeue', { task_id: TASK_ID }],
];

beforeAll(async () => {
  server = await startRedisServer();
  gateway = buildGateway(server.url, { apiKeys: [KEY, OTHER_KEY], rateLimitPerMinute: 1_000 });
  closedDocs = buildGateway(server.url, { apiKeys: [KEY], docsPublic: false });
  await waitFor(() => gateway.redis.status === 'ready' && closedDocs.redis.status === 'ready');
});
afterAll(async () => {
  await gateway.close();
  await closedDocs.close();
  await server.stop();
});

function send(
  app: TestGateway['app'],
  [method, path, body]: (typeof PROTECTED)[number],
  headers: Record<string, string>,
) {
  const call = request(app)[method](path).set(headers);
  return body ? call.send(body) : call;
}

describe('API keys', () => {
  it.each(PROTECTED)('%s %s answers 401 without a key and with a wrong one', async (...route) => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong-key-0123456789' },
      { 'X-API-Key': 'nope' },
      { Authorization: 'Basic abc' },
    ];
    for (const headers of attempts) {
      const response = await send(gateway.app, route, headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.body.error.code).toBe('unauthorized');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it.each(PROTECTED)('%s %s is let through with a valid key, by either header', async (...route) => {
    const valid: Record<string, string>[] = [{ Authorization: `Bearer ${KEY}` }, { 'X-API-Key': OTHER_KEY }];
    for (const headers of valid) {
      expect((await send(gateway.app, route, headers)).status).not.toBe(401);
    }
  });

  it('leaves /healthz, /readyz and (by default) /docs and /openapi.json open', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await request(gateway.app).get(path)).status, path).toBe(200);
    }
    expect((await request(gateway.app).get('/docs/').redirects(1)).status).toBe(200);
  });

  it('closes /docs and /openapi.json when DOCS_PUBLIC is false', async () => {
    expect((await request(closedDocs.app).get('/openapi.json')).status).toBe(401);
    expect((await request(closedDocs.app).get('/docs/')).status).toBe(401);
    expect((await request(closedDocs.app).get('/openapi.json').set('X-API-Key', KEY)).status).toBe(200);
    expect((await request(closedDocs.app).get('/healthz')).status).toBe(200);
  });

  it('documents the key schemes in OpenAPI', async () => {
    const doc = (await request(gateway.app).get('/openapi.json')).body;
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['bearer', 'apiKey']);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/node/execute'].post.responses['401']).toBeDefined();
  });

  it('never echoes the key in an answer', async () => {
    const response = await request(gateway.app).get('/node/collect?task_id=bad').set('X-API-Key', KEY);
    expect(JSON.stringify(response.body)).not.toContain(KEY);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a caller exceeds its budget, and counts callers apart', async () => {
    const limited = buildGateway(server.url, { apiKeys: [KEY, OTHER_KEY], rateLimitPerMinute: 3 });
    try {
      await waitFor(() => limited.redis.status === 'ready');
      const call = (key: string) => request(limited.app).get(`/node/collect?task_id=${TASK_ID}`).set('X-API-Key', key);
      for (let i = 0; i < 3; i++) expect((await call(KEY)).status).toBe(404);
      const refused = await call(KEY);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await call(OTHER_KEY)).status).toBe(404);
      expect((await request(limited.app).get('/healthz')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
