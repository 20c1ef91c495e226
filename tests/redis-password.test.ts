/**
 * Every component against a Redis that requires a password: the seed flow works on /node and /r,
 * a wrong password is refused, and no process ever prints the password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayClient } from './support/gateway-client.js';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from './support/redis-server.js';
import { startService, type ServiceProcess } from './support/services.js';
import { waitFor } from './support/wait.js';

const PASSWORD = 's3cret-pa55word-for-tests';
let redis: RedisServer;
let baseUrl: string;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer({ password: PASSWORD });
  const [gatewayPort, rPort] = [await freePort(), await freePort()];
  baseUrl = `http://127.0.0.1:${gatewayPort}`;
  const env = { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('auth'), LONG_TASK_STEP_MS: '50', LOG_LEVEL: 'debug' };
  services.push(
    startService('r-worker', { ...env, HOST: '127.0.0.1', PORT: String(rPort) }),
    startService('node-worker', env),
    startService('gateway', { ...env, HOST: '127.0.0.1', PORT: String(gatewayPort), R_SERVICE_URL: `http://127.0.0.1:${rPort}` }),
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${rPort}/health`)).ok, { timeoutMs: 30_000, what: 'R service' });
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, { timeoutMs: 20_000, what: 'gateway' });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await redis.stop();
});

describe('Redis with a password', () => {
  it.each(['node', 'r'] as const)('the seed flow works on /%s', async (worker) => {
    const client = gatewayClient(baseUrl);
    const accepted = await client.execute(worker, { total: 2 });
    expect(accepted.status).toBe(202);
    const record = await waitFor(
      async () => {
        const current = await client.collect(worker, accepted.taskId!);
        return current.state === 'SUCCESS' ? current : null;
      },
      { what: `${worker} task` },
    );
    expect(record.result).toBe(2);
  });

  it('a gateway with the wrong password is not ready, and says why without the password', async () => {
    const port = await freePort();
    const wrong = `redis://:not-the-${PASSWORD}@127.0.0.1:${redis.port}`;
    const gateway = startService('gateway', { REDIS_URL: wrong, HOST: '127.0.0.1', PORT: String(port) });
    services.push(gateway);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, {
      what: 'gateway to listen',
    });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    await waitFor(() => /WRONGPASS|invalid password|NOAUTH/i.test(gateway.output()), { what: 'the auth error in the log' });
    expect(gateway.output()).not.toContain(PASSWORD);
  });

  it('no process printed the password', () => {
    for (const service of services) expect(service.output()).not.toContain(PASSWORD);
  });
});
