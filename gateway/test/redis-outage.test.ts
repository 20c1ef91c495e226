import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { ReplyError } from 'ioredis';
import { isRedisUnavailable } from '../src/http/errors.js';
import { buildGateway, type TestGateway } from './helpers.js';

let gateway: TestGateway | undefined;
let server: RedisServer | undefined;
afterAll(async () => {
  await gateway?.close();
  await server?.stop();
});

describe('gateway while Redis is down', () => {
  it('answers 503 redis_unavailable at once on every Redis-backed route, then recovers by itself', async () => {
    const port = await freePort();
    gateway = buildGateway(`redis://127.0.0.1:${port}`);
    const routes = [
      () => request(gateway!.app).post('/node/execute').send({ total: 3 }),
      () => request(gateway!.app).get('/node/collect').query({ task_id: '2b1a3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' }),
      () => request(gateway!.app).get('/readyz'),
    ];
    for (const call of routes) {
      const response = await call().timeout(5_000);
      expect(response.status).toBe(503);
      expect(response.body.error).toEqual({ code: 'redis_unavailable', message: expect.stringMatching(/Redis/) });
    }
    expect((await request(gateway.app).get('/healthz')).status).toBe(200); // alive, just not ready

    server = await startRedisServer({ port });
    await waitFor(async () => (await request(gateway!.app).get('/readyz')).status === 200, {
      timeoutMs: 10_000,
      what: 'the gateway to reconnect',
    });
    expect((await routes[0]!()).status).toBe(202);
  });

  it('counts the replies of a Redis that cannot serve now (cluster down, loading, demoted) as unavailable, and other replies as bugs', () => {
    const reply = (message: string) => Object.assign(new ReplyError(message), { message });
    for (const message of [
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'LOADING Redis is loading the dataset in memory',
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
      "READONLY You can't write against a read only replica.",
    ])
      expect(isRedisUnavailable(reply(message)), message).toBe(true);
    expect(isRedisUnavailable(reply("ERR wrong number of arguments for 'get' command"))).toBe(false);
    expect(isRedisUnavailable(reply('NOSCRIPT No matching script'))).toBe(false);
    expect(isRedisUnavailable(new Error('Command timed out'))).toBe(true);
  });
});
