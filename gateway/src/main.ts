/** Gateway process: wires config, Redis and the R service client, listens, and shuts down gracefully. */
import type { EventStream } from './events/sse.js';
import { StreamHub } from './events/stream-hub.js';
import cluster from 'node:cluster';
import { once } from 'node:events';
import {
  GatewayEnv,
  TaskQueues,
  WorkflowAdvancer,
  WorkflowStore,
  createKeyLayout,
  createLogger,
  createRecordReader,
  createRedis,
  loadConfigOrExit,
} from '@switchyard/shared';
import { createApp } from './app.js';
import { runGatewayProcesses } from './gateway-processes.js';
import { createCeleryBroker } from './celery/celery-broker.js';
import { CeleryBridge } from './celery/celery-bridge.js';
import { RServiceClient } from './r-service/client.js';

/** Longest the gateway waits at start for its Redis connection before it opens its port anyway. */
const REDIS_READY_WAIT_MS = 3_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit(GatewayEnv, 'gateway');
  const logger = createLogger('gateway', config.LOG_LEVEL);
  if (config.GATEWAY_PROCESSES > 1 && cluster.isPrimary) return runGatewayProcesses(config.GATEWAY_PROCESSES, logger);
  const redis = createRedis(config.redis, 'request', { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
  redis.on('error', (error: Error) => logger.warn('redis connection error', { error }));
  const rService = new RServiceClient({
    baseUrl: config.R_SERVICE_URL,
    timeoutMs: config.R_REQUEST_TIMEOUT_MS,
    token: config.R_SERVICE_TOKEN,
  });
  const keys = createKeyLayout(config.KEY_PREFIX);
  // Moves workflows on (hand-offs of finished steps); every gateway and Node worker runs one.
  const advancer = new WorkflowAdvancer({
    redis,
    queues: {
      node: new TaskQueues(redis, keys, 'node', config.RESULT_TTL_SECONDS),
      r: new TaskQueues(redis, keys, 'r', config.RESULT_TTL_SECONDS),
    },
    store: new WorkflowStore(redis, keys, config.RESULT_TTL_SECONDS),
    logger,
  });
  const celeryRedis =
    config.CELERY_BROKER_URL === ''
      ? null
      : createRedis(config.CELERY_BROKER_URL, 'request', { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
  celeryRedis?.on('error', (error: Error) => logger.warn('celery broker connection error', { error }));
  const subscriber = createRedis(config.redis, 'blocking');
  subscriber.on('error', (error: Error) => logger.warn('redis connection error', { error }));
  const hub = new StreamHub(redis, logger);
  const eventStreams = new Set<EventStream>();
  const app = createApp({
    redis,
    keys,
    advancer,
    hub,
    eventStreams,
    ...(celeryRedis
      ? {
          celeryBroker: createCeleryBroker(celeryRedis, {
            redis,
            key: keys.celeryTask,
            ttlSeconds: config.RESULT_TTL_SECONDS,
          }),
        }
      : {}),
    resultTtlSeconds: config.RESULT_TTL_SECONDS,
    rService,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    apiKeys: config.API_KEYS,
    docsPublic: config.DOCS_PUBLIC,
    metricsPublic: config.METRICS_PUBLIC,
    metricsReadTimeoutMs: config.METRICS_READ_TIMEOUT_MS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    taskRoutes: config.TASK_ROUTES,
    maxQueueLength: config.MAX_QUEUE_LENGTH,
    ui: { dir: config.UI_DIR, readOnly: config.UI_READ_ONLY },
  });

  void advancer.start(subscriber).catch((error: unknown) => logger.warn('workflow advancer not started', { error }));
  // Celery producers → Switchyard workers: the Celery queues node, r, node.<name>, r.<name>.
  const bridge = celeryRedis
    ? new CeleryBridge({
        broker: celeryRedis,
        redis,
        keys,
        queues: {
          node: new TaskQueues(redis, keys, 'node', config.RESULT_TTL_SECONDS),
          r: new TaskQueues(redis, keys, 'r', config.RESULT_TTL_SECONDS),
        },
        reader: createRecordReader(redis, keys),
        workflows: { store: new WorkflowStore(redis, keys, config.RESULT_TTL_SECONDS), advancer },
        hub,
        logger,
      })
    : null;
  bridge?.start();
  // The request connection queues nothing while it connects (a request answers 503 at once), so it is
  // given a moment to be ready before the port opens: a gateway that just started, or one more of
  // GATEWAY_PROCESSES, does not answer 503 while Redis is fine. A Redis that is down does not hold it.
  if (redis.status !== 'ready') {
    // (events.once rejects on the connection's first 'error': Redis is down, so the port opens now.)
    await Promise.race([
      once(redis, 'ready').catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, REDIS_READY_WAIT_MS)),
    ]);
  }
  const server = app.listen(config.PORT, config.HOST);
  server.once('error', (error: NodeJS.ErrnoException) => {
    // A port in use is a setting to change, not a crash to restart: say so and exit 2.
    const why =
      error.code === 'EADDRINUSE'
        ? `port ${config.PORT} on ${config.HOST} is already in use; set PORT to another`
        : error.message;
    process.stderr.write(`gateway: cannot listen: ${why}\n`);
    process.exit(2);
  });
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info('gateway listening', { host: config.HOST, port, docs: `http://localhost:${port}/docs` });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
    force.unref();
    server.closeIdleConnections();
    // Live-event clients reconnect (to another replica) with Last-Event-ID; holding them would only delay the stop.
    for (const stream of eventStreams) stream.end();
    hub.close();
    server.close(() => {
      void Promise.allSettled([advancer.stop(), bridge?.stop(), rService.close()])
        .then(() => Promise.allSettled([redis.quit(), subscriber.quit(), celeryRedis?.quit()]))
        .then(() => {
          logger.info('stopped');
          process.exit(0);
        });
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
