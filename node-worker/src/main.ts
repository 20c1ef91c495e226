/** Node worker process: wires config, Redis and the worker; stops gracefully on SIGTERM/SIGINT. */
import {
  NodeQueue,
  NodeWorkerEnv,
  createKeyLayout,
  createLogger,
  createRedis,
  loadConfigOrExit,
} from '@switchyard/shared';
import { createCpuPool } from './tasks/cpu-pool.js';
import { NodeWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(NodeWorkerEnv, 'node-worker');
  const logger = createLogger('node-worker', config.LOG_LEVEL);
  const redis = createRedis(config.REDIS_URL, 'worker');
  const blocking = createRedis(config.REDIS_URL, 'blocking');
  const subscriber = createRedis(config.REDIS_URL, 'blocking');
  for (const connection of [redis, blocking, subscriber]) {
    connection.on('error', (error: Error) => logger.warn('redis connection error', { error }));
  }
  const keys = createKeyLayout(config.KEY_PREFIX);
  const worker = new NodeWorker(
    {
      queue: new NodeQueue(redis, keys, config.RESULT_TTL_SECONDS),
      blocking,
      subscriber,
      cancelChannel: keys.nodeCancelChannel,
      cpuPool: createCpuPool(config.CPU_THREADS),
    },
    {
      concurrency: config.WORKER_CONCURRENCY,
      leaseMs: config.LEASE_MS,
      longTaskStepMs: config.LONG_TASK_STEP_MS,
      maxDeliveries: config.MAX_DELIVERIES,
    },
    logger,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, in_flight: worker.inFlight });
    worker
      .stop(config.SHUTDOWN_GRACE_MS)
      .then(() => redis.quit())
      .then(() => {
        logger.info('stopped', { ...worker.stats });
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('unclean shutdown', { error });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await worker.start();
  logger.info('worker started', {
    concurrency: config.WORKER_CONCURRENCY,
    lease_ms: config.LEASE_MS,
    pid: process.pid,
  });
}

void main();
