/**
 * The node-worker image's health check (scripts/deploy/node-worker-health.mjs, its HEALTHCHECK and
 * Kubernetes probes) against a real redis-server and a real worker process: healthy only while Redis
 * answers and this host's worker process is in the worker registry with a fresh heartbeat, with a
 * password too; never fooled by another host's worker or a registry entry of a process that is gone.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_HEARTBEAT, createKeyLayout, type WorkerInfo } from '@switchyard/shared';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server.js';
import { startService, type ServiceProcess } from '../support/services.js';
import { waitFor } from '../support/wait.js';
import { ROOT } from './support/repo.js';

const PASSWORD = 'health-check-password';
let redis: RedisServer;
let client: Redis;
let worker: ServiceProcess | undefined;

/** Runs the check as the image does, but on the shared sources (no build in the repository). */
function runHealthCheck(redisUrl: string, keyPrefix: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'scripts/deploy/node-worker-health.mjs'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, output: output.trim() }));
  });
}

/** Writes a registry entry as startWorkerHeartbeat would, for a worker that is not a real process here. */
async function register(prefix: string, info: Partial<WorkerInfo> & Pick<WorkerInfo, 'id'>): Promise<void> {
  const keys = createKeyLayout(prefix);
  const now = Date.now();
  const entry: WorkerInfo = {
    kind: 'node',
    host: hostname(),
    pid: process.pid,
    queues: ['default'],
    concurrency: 1,
    running: [],
    started_at: new Date(now).toISOString(),
    heartbeat_at: new Date(now).toISOString(),
    ...info,
  };
  await client.set(keys.worker(entry.id), JSON.stringify(entry), 'EX', WORKER_HEARTBEAT.ttlSeconds);
  await client.zadd(keys.workerSet, now, entry.id);
}

beforeAll(async () => {
  redis = await startRedisServer({ password: PASSWORD });
  client = new Redis(redis.url);
});
afterAll(async () => {
  await worker?.stop('SIGKILL');
  client?.disconnect();
  await redis?.stop();
});

describe('scripts/deploy/node-worker-health.mjs', () => {
  it('fails while no worker is registered, passes once one is, and fails again after it stops', async () => {
    const prefix = uniquePrefix('health');
    const before = await runHealthCheck(redis.url, prefix);
    expect(before.status).toBe(1);
    expect(before.output).toContain(`no node worker from ${hostname()} in the registry ${prefix}:workers`);

    worker = startService('node-worker', { REDIS_URL: redis.url, KEY_PREFIX: prefix, QUEUES: 'cpu' });
    const healthy = await waitFor(
      async () => {
        const result = await runHealthCheck(redis.url, prefix);
        return result.status === 0 ? result : false;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `a healthy node worker (its output: ${worker.output()})` },
    );
    expect(healthy.output).toBe('node-worker healthy');

    // The same worker under another KEY_PREFIX is not this deployment's.
    expect((await runHealthCheck(redis.url, uniquePrefix('other'))).status).toBe(1);

    await worker.stop();
    worker = undefined;
    expect((await runHealthCheck(redis.url, prefix)).status).toBe(1);
  }, 60_000);

  it("is not fooled by another host's worker, or by an entry whose process is gone", async () => {
    const prefix = uniquePrefix('health');
    await register(prefix, { id: 'elsewhere-1', host: 'some-other-pod' });
    const otherHost = await runHealthCheck(redis.url, prefix);
    expect(otherHost.status).toBe(1);
    expect(otherHost.output).toContain(`no node worker from ${hostname()}`);

    await register(prefix, { id: 'r-here', kind: 'r' });
    expect((await runHealthCheck(redis.url, prefix)).status).toBe(1);

    await register(prefix, { id: 'gone-1', pid: 2 ** 22 + 17 }); // above any pid_max: never a process
    const gone = await runHealthCheck(redis.url, prefix);
    expect(gone.status).toBe(1);
    expect(gone.output).toContain('are not running here');

    // An entry whose heartbeat is older than the registry's TTL is not live, even with its key present.
    const keys = createKeyLayout(prefix);
    await register(prefix, { id: 'stale-1' });
    await client.zadd(keys.workerSet, Date.now() - WORKER_HEARTBEAT.ttlSeconds * 1_000 - 1_000, 'stale-1');
    expect((await runHealthCheck(redis.url, prefix)).status).toBe(1);

    await register(prefix, { id: 'fresh-1' }); // this test's own process: alive, on this host
    expect((await runHealthCheck(redis.url, prefix)).status).toBe(0);
  }, 30_000);

  it('fails when Redis does not answer or refuses the password, saying why', async () => {
    const prefix = uniquePrefix('health');
    const wrongPassword = await runHealthCheck(redis.url.replace(PASSWORD, 'wrong-password'), prefix);
    expect(wrongPassword.status).toBe(1);
    expect(wrongPassword.output).toMatch(/Redis does not answer: WRONGPASS/);

    const port = redis.port;
    const closed = await runHealthCheck(`redis://127.0.0.1:${port === 1 ? 2 : 1}`, prefix);
    expect(closed.status).toBe(1);
    expect(closed.output).toMatch(/Redis does not answer: connect ECONNREFUSED/);

    const badPrefix = await runHealthCheck(redis.url, 'bad prefix');
    expect(badPrefix.status).toBe(1);
    expect(badPrefix.output).toContain('KEY_PREFIX is not valid');
  }, 30_000);
});
