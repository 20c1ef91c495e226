/**
 * The Redis deployment settings at start-up, for every process: REDIS_URL, REDIS_CLUSTER_NODES and
 * REDIS_SENTINELS exclude each other, and a bad one stops the gateway, the Node worker and the R
 * service with status 2 and a message naming it, the same words in TypeScript and R. A cluster with a
 * password is reached with REDIS_PASSWORD by every process.
 */
import { describe, expect, it } from 'vitest';
import { startRedisCluster } from './support/redis-cluster.js';
import { startService } from './support/services.js';
import { startStack } from './support/stack.js';

const SERVICES = ['gateway', 'node-worker', 'r-worker'] as const;

describe('Redis Cluster and Sentinel settings at start-up', () => {
  it.each(SERVICES)('%s refuses REDIS_CLUSTER_NODES together with REDIS_SENTINELS, naming both', async (name) => {
    const service = startService(name, {
      REDIS_CLUSTER_NODES: '127.0.0.1:1',
      REDIS_SENTINELS: '127.0.0.1:2',
      REDIS_SENTINEL_NAME: 'switchyard',
      HOST: '127.0.0.1',
    });
    expect(await service.exited).toBe(2);
    expect(service.output()).toContain(
      'REDIS_SENTINELS must not be set together with REDIS_CLUSTER_NODES: set one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS',
    );
    expect(service.output()).not.toMatch(/at .*\.ts:\d+/);
  });

  it.each(SERVICES)(
    '%s refuses a sentinel list that is not host:port, and sentinels without REDIS_SENTINEL_NAME',
    async (name) => {
      const badList = startService(name, {
        REDIS_SENTINELS: '127.0.0.1:26379,sentinel-2',
        REDIS_SENTINEL_NAME: 'm',
        HOST: '127.0.0.1',
      });
      const noName = startService(name, { REDIS_SENTINELS: '127.0.0.1:26379', HOST: '127.0.0.1' });
      expect(await badList.exited).toBe(2);
      expect(badList.output()).toContain(
        'REDIS_SENTINELS must be host:port pairs separated by commas (got "sentinel-2")',
      );
      expect(await noName.exited).toBe(2);
      expect(noName.output()).toContain('REDIS_SENTINEL_NAME must be set with REDIS_SENTINELS');
    },
  );

  it('runs on a cluster with a password given as REDIS_PASSWORD: a Node and an R task succeed', async () => {
    const cluster = await startRedisCluster({ password: 'cluster-secret' });
    try {
      const stack = await startStack(cluster, { label: 'cluster-pw', withR: true, env: { LONG_TASK_STEP_MS: '50' } });
      try {
        expect(cluster.env.REDIS_PASSWORD).toBe('cluster-secret');
        expect((await stack.client.runToCompletion('node', { task: 'add', args: [2, 3] })).at(-1)).toMatchObject({
          state: 'SUCCESS',
          result: 5,
        });
        expect((await stack.client.runToCompletion('r', { total: 2 }, 60_000)).at(-1)).toMatchObject({
          state: 'SUCCESS',
        });
        for (const service of stack.services) expect(service.output()).not.toContain('cluster-secret');
      } finally {
        await stack.stop();
      }
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
