/**
 * `npm start` against a Redis of the caller's: with REDIS_CLUSTER_NODES it starts no Redis of its own,
 * and the gateway, the Node worker and the R service all run on the (real, 3-master) cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayClient } from './support/gateway-client.js';
import { freeStackPorts, npmStart } from './support/npm-start.js';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('npm start on a Redis Cluster', () => {
  it('uses the cluster instead of a Redis of its own, and Node and R tasks run on it', async () => {
    const stack = npmStart(
      { ...cluster.env, LONG_TASK_STEP_MS: '50', KEY_PREFIX: 'local-stack-cluster' },
      { ports: await freeStackPorts() },
    );
    try {
      await stack.waitUntilUp(120_000);
      expect(stack.output()).not.toContain('Redis keeps its data');
      const client = gatewayClient(stack.baseUrl);
      for (const worker of ['node', 'r'] as const) {
        const done = await client.runToCompletion(worker, { total: 2 });
        expect(done.at(-1)).toMatchObject({ state: 'SUCCESS', result: 2 });
      }
      // the records are on the cluster: a key of the task's queue is in one of its masters
      expect(await cluster.client().exists('local-stack-cluster:queues')).toBe(1);
    } finally {
      await stack.stop(30_000);
    }
  }, 240_000);
});
