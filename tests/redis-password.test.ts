/**
 * Every component against a Redis that requires a password: the seed flow works on /node and /r,
 * a wrong password is refused, and no process ever prints the password.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from './support/redis-server.js';
import { startService, type ServiceProcess } from './support/services.js';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const PASSWORD = 's3cret-pa55word-for-tests';
const ctx = useStack({
  label: 'auth',
  startRedis: () => startRedisServer({ password: PASSWORD }),
  withR: true,
  env: { LONG_TASK_STEP_MS: '50', LOG_LEVEL: 'debug' },
});
let wrongGateway: ServiceProcess | undefined;
afterAll(() => wrongGateway?.stop('SIGKILL'));

describe('Redis with a password', () => {
  it.each(['node', 'r'] as const)('the seed flow works on /%s', async (worker) => {
    const seen = await ctx.stack.client.runToCompletion(worker, { total: 2 });
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', result: 2 });
  });

  it('a gateway with the wrong password is not ready, and says why without the password', async () => {
    const port = await freePort();
    const wrong = `redis://:not-the-${PASSWORD}@127.0.0.1:${ctx.redis.port}`;
    wrongGateway = startService('gateway', { REDIS_URL: wrong, HOST: '127.0.0.1', PORT: String(port) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, {
      what: 'gateway to listen',
    });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    await waitFor(() => /WRONGPASS|invalid password|NOAUTH/i.test(wrongGateway!.output()), {
      what: 'the auth error in the log',
    });
    expect(wrongGateway.output()).not.toContain(PASSWORD);
  });

  it('no process printed the password', () => {
    for (const service of ctx.stack.services) expect(service.output()).not.toContain(PASSWORD);
  });
});
