/**
 * The node-worker image's health check (scripts/deploy/node-worker-health.mjs, its HEALTHCHECK and
 * Kubernetes probes) against a real redis-server and a real worker process: healthy only while Redis
 * answers and a worker holds its connections to it, with a password too.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server.js';
import { startService, type ServiceProcess } from '../support/services.js';
import { waitFor } from '../support/wait.js';
import { ROOT } from './support/repo.js';

const PASSWORD = 'health-check-password';
let redis: RedisServer;
let worker: ServiceProcess | undefined;

function runHealthCheck(redisUrl: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/deploy/node-worker-health.mjs'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, output: output.trim() }));
  });
}

beforeAll(async () => {
  redis = await startRedisServer({ password: PASSWORD });
});
afterAll(async () => {
  await worker?.stop('SIGKILL');
  await redis?.stop();
});

describe('scripts/deploy/node-worker-health.mjs', () => {
  it('fails while no worker is connected, passes once one is, and fails again after it stops', async () => {
    const before = await runHealthCheck(redis.url);
    expect(before.status).toBe(1);
    expect(before.output).toMatch(/no worker connection switchyard-worker or switchyard-blocking/);

    worker = startService('node-worker', { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('health') });
    const healthy = await waitFor(
      async () => {
        const result = await runHealthCheck(redis.url);
        return result.status === 0 ? result : false;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'a healthy node worker' },
    );
    expect(healthy.output).toBe('node-worker healthy');

    await worker.stop();
    worker = undefined;
    expect((await runHealthCheck(redis.url)).status).toBe(1);
  });

  it('fails when Redis does not answer or refuses the password, saying why', async () => {
    const wrongPassword = await runHealthCheck(redis.url.replace(PASSWORD, 'wrong-password'));
    expect(wrongPassword.status).toBe(1);
    expect(wrongPassword.output).toMatch(/Redis does not answer: WRONGPASS/);

    const port = redis.port;
    const closed = await runHealthCheck(`redis://127.0.0.1:${port === 1 ? 2 : 1}`);
    expect(closed.status).toBe(1);
    expect(closed.output).toMatch(/Redis does not answer: connect ECONNREFUSED/);
  });
});
