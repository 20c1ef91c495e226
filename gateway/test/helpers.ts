/** Builds the gateway app in-process for supertest, against a given Redis and R service URL. */
import { createKeyLayout, createRedis, silentLogger, type KeyLayout, type Redis } from '@switchyard/shared';
import { createApp } from '../src/app.js';
import { RServiceClient } from '../src/r-service/client.js';
import { uniquePrefix } from '../../tests/support/redis-server.js';

export interface TestGateway {
  app: ReturnType<typeof createApp>;
  redis: Redis;
  keys: KeyLayout;
  rService: RServiceClient;
  close(): Promise<void>;
}

export function buildGateway(
  redisUrl: string,
  options: {
    rServiceUrl?: string;
    rTimeoutMs?: number;
    bodyLimitBytes?: number;
    apiKeys?: string[];
    docsPublic?: boolean;
    rateLimitPerMinute?: number;
  } = {},
): TestGateway {
  const redis = createRedis(redisUrl, 'request', { commandTimeoutMs: 1_000 });
  redis.on('error', () => {});
  const keys = createKeyLayout(uniquePrefix('gw'));
  const rService = new RServiceClient({
    baseUrl: options.rServiceUrl ?? 'http://127.0.0.1:9',
    timeoutMs: options.rTimeoutMs ?? 1_000,
  });
  const app = createApp({
    redis,
    keys,
    resultTtlSeconds: 3_600,
    rService,
    logger: silentLogger,
    bodyLimitBytes: options.bodyLimitBytes ?? 16_384,
    apiKeys: options.apiKeys ?? [],
    docsPublic: options.docsPublic ?? true,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 0,
  });
  return {
    app,
    redis,
    keys,
    rService,
    async close() {
      redis.disconnect();
      await rService.close();
    },
  };
}
