/**
 * The Redis deployment settings at start-up, for every process: REDIS_URL, REDIS_CLUSTER_NODES and
 * REDIS_SENTINELS exclude each other, and a bad one stops the gateway, the Node worker and the R
 * service with status 2 and a message naming it, the same words in TypeScript and R.
 */
import { describe, expect, it } from 'vitest';
import { startService } from './support/services.js';

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
});
