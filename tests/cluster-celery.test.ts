/**
 * Celery interop with Switchyard on a Redis Cluster. Celery's broker and result backend stay one plain
 * redis-server (CELERY_BROKER_URL: Celery does not speak Redis Cluster); the gateway's Celery bridge
 * moves the messages into Switchyard's queues on the cluster, Node and R workers run them there, and
 * the results go back to Celery's backend. Real Celery (Debian's python3-celery) as the producer.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { REPO_ROOT } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/** Debian's Python, where python3-celery is installed (another python3 may come first on PATH). */
const DEBIAN_PYTHON = '/usr/bin/python3';

let cluster: RedisCluster;
let broker: RedisServer;
let stack: Stack;

beforeAll(async () => {
  [cluster, broker] = await Promise.all([startRedisCluster(), startRedisServer()]);
  stack = await startStack(cluster, {
    label: 'cluster-celery',
    nodeWorkers: 1,
    withR: true,
    env: { LONG_TASK_STEP_MS: '100', LEASE_MS: '1500' },
    gatewayEnv: () => ({ CELERY_BROKER_URL: broker.url }),
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([cluster?.stop(), broker?.stop()]);
});

/** Runs tests/celery/producer.py `what` against the broker; its last line is what it saw. */
async function produce(what: string): Promise<Record<string, unknown>> {
  const child = spawn(DEBIAN_PYTHON, ['producer.py', broker.url, what], {
    cwd: `${REPO_ROOT}/tests/celery`,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`producer ${what} exited ${code}:\n${out}\n${err}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('Celery producers with Switchyard on a Redis Cluster', () => {
  it('send_task(...).get() returns the Node and the R worker results; progress is seen from Python', async () => {
    expect(await produce('add')).toEqual({ result: 10 });
    expect(await produce('summary_stats')).toMatchObject({ result: { n: 5, mean: 3, min: 1, max: 5 } });
    const seen = await produce('progress');
    expect(seen.result).toBe(6);
    expect((seen.progress as number[]).length).toBeGreaterThan(1);
  }, 90_000);

  it('a Celery chain from Node to R to Node runs as a Switchyard workflow on the cluster', async () => {
    expect(await produce('polyglot_chain')).toMatchObject({
      result: expect.stringMatching(/^y = 2(\.\d+)?·x \+ [01](\.\d+)? \(R² (0\.99\d*|1), n = 20\)$/),
    });
    // The bridge's keys stay on the broker; Switchyard's own are on the cluster.
    const prefix = stack.env.KEY_PREFIX!;
    const onCluster = cluster.client();
    expect(await onCluster.exists(`${prefix}:{node:default}:stats`)).toBe(1);
  }, 90_000);
});
