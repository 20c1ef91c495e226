/**
 * The gateway's GET /metrics (Prometheus text format): its own HTTP requests, Node.js process
 * metrics, and the figures every replica reads alike from Redis at scrape time: per-queue gauges,
 * and task outcomes and run times as the queue scripts counted them.
 * One reading of Redis serves a scrape; scrapes arriving while it is under way share it, and it may
 * take at most `readTimeoutMs`: past that the scrape answers without those figures and says so in
 * switchyard_metrics_redis_up, rather than making Prometheus time out and lose the process metrics
 * too.
 */
import type { Request, RequestHandler, Response } from 'express';
import { readTaskMetrics, type KeyLayout, type Logger, type Redis } from '@switchyard/shared';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueService } from '../services/queue-service.js';
import { createHttpMetrics } from './http-metrics.js';
import { createQueueMetrics, type QueueFigures } from './queue-metrics.js';
import type { PathMatch } from './route-label.js';
import { createTaskMetrics, type QueueTaskMetrics } from './task-metrics.js';

export interface GatewayMetricsDeps {
  redis: Redis;
  keys: KeyLayout;
  queues: Pick<QueueService, 'list'>;
  /** The route templates requests are labelled with (openApiPathMatcher). */
  matchPath: (path: string) => PathMatch | undefined;
  /** Longest a scrape waits for Redis (METRICS_READ_TIMEOUT_MS). */
  readTimeoutMs: number;
  logger: Logger;
}

interface RedisReading {
  queues: QueueFigures;
  tasks: QueueTaskMetrics[];
}

class ReadTimeout extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within METRICS_READ_TIMEOUT_MS (${ms} ms)`);
  }
}

export function createGatewayMetrics(deps: GatewayMetricsDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const countRequests = createHttpMetrics(registry, deps.matchPath);
  const queueMetrics = createQueueMetrics(registry);
  const taskMetrics = createTaskMetrics(registry);
  const redisUp = new Gauge({
    name: 'switchyard_metrics_redis_up',
    help: '1 when this scrape read the queue and task figures from Redis, 0 when Redis failed or was too slow (they are then left out).',
    registers: [registry],
  });

  let reading: Promise<RedisReading> | null = null;

  async function readRedis(): Promise<RedisReading> {
    const queues = await deps.queues.list();
    const tasks = await Promise.all(
      queues.map(async ({ kind, name }) => ({
        kind,
        queue: name,
        metrics: await readTaskMetrics(deps.redis, deps.keys, kind, name),
      })),
    );
    return { queues, tasks };
  }

  /** One reading at a time, bounded in time; the timer never outlives it. */
  function sharedReading(): Promise<RedisReading> {
    reading ??= new Promise<RedisReading>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ReadTimeout(deps.readTimeoutMs)), deps.readTimeoutMs);
      readRedis()
        .then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
          reading = null;
        });
    });
    return reading;
  }

  async function refresh(): Promise<void> {
    try {
      const figures = await sharedReading();
      queueMetrics.set(figures.queues);
      taskMetrics.set(figures.tasks);
      redisUp.set(1);
    } catch (error) {
      deps.logger.warn('metrics: could not read the queue and task figures from Redis', { error });
      queueMetrics.clear();
      taskMetrics.clear();
      redisUp.set(0);
    }
  }

  const serve: RequestHandler = async (_req: Request, res: Response) => {
    await refresh();
    res.set('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  };

  return { registry, countRequests, serve };
}
