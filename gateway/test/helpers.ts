/** Builds the gateway app in-process for supertest, against a given Redis and R service URL. */
import {
  TaskQueues,
  createKeyLayout,
  createRecordReader,
  createRedis,
  parseTaskRoutes,
  silentLogger,
  type KeyLayout,
  type Redis,
  type TaskRecord,
  type WorkerKind,
} from '@switchyard/shared';
import { createApp } from '../src/app.js';
import { RServiceClient } from '../src/r-service/client.js';
import { uniquePrefix } from '../../tests/support/redis-server.js';

export interface TestGateway {
  app: ReturnType<typeof createApp>;
  redis: Redis;
  keys: KeyLayout;
  rService: RServiceClient;
  /** The task queues of each kind, as workers see them. */
  queues: Record<WorkerKind, TaskQueues>;
  /** A task's record, found from its id. */
  read(taskId: string): Promise<TaskRecord | null>;
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
    taskRoutes?: string;
    maxQueueLength?: number;
    rServiceToken?: string;
  } = {},
): TestGateway {
  const redis = createRedis(redisUrl, 'request', { commandTimeoutMs: 1_000 });
  redis.on('error', () => {});
  const keys = createKeyLayout(uniquePrefix('gw'));
  const rService = new RServiceClient({
    baseUrl: options.rServiceUrl ?? 'http://127.0.0.1:9',
    timeoutMs: options.rTimeoutMs ?? 1_000,
    ...(options.rServiceToken ? { token: options.rServiceToken } : {}),
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
    taskRoutes: parseTaskRoutes(options.taskRoutes ?? ''),
    maxQueueLength: options.maxQueueLength ?? 0,
  });
  const reader = createRecordReader(redis, keys);
  return {
    app,
    redis,
    keys,
    rService,
    queues: { node: new TaskQueues(redis, keys, 'node', 3_600), r: new TaskQueues(redis, keys, 'r', 3_600) },
    read: (taskId) => reader.read(taskId),
    async close() {
      redis.disconnect();
      await rService.close();
    },
  };
}
