/** Node worker process: wires config, Redis and the worker; registers it; stops gracefully on SIGTERM/SIGINT. */
import {
  NodeWorkerEnv,
  TaskQueues,
  WorkflowAdvancer,
  WorkflowStore,
  createKeyLayout,
  createLogger,
  createRedis,
  loadConfigOrExit,
  startWorkerHeartbeat,
} from '@switchyard/shared';
import { createCpuPool } from './tasks/cpu-pool.js';
import { NodeWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(NodeWorkerEnv, 'node-worker');
  const logger = createLogger('node-worker', config.LOG_LEVEL);
  const redis = createRedis(config.REDIS_URL, 'worker');
  const blocking = createRedis(config.REDIS_URL, 'blocking');
  const subscriber = createRedis(config.REDIS_URL, 'blocking');
  const handoffSubscriber = createRedis(config.REDIS_URL, 'blocking');
  for (const connection of [redis, blocking, subscriber, handoffSubscriber]) {
    connection.on('error', (error: Error) => logger.warn('redis connection error', { error }));
  }
  const keys = createKeyLayout(config.KEY_PREFIX);
  const queues = new TaskQueues(redis, keys, 'node', config.RESULT_TTL_SECONDS);
  // Moves workflows on (hand-offs of finished steps); every gateway and Node worker runs one.
  const advancer = new WorkflowAdvancer({
    redis,
    queues: { node: queues, r: new TaskQueues(redis, keys, 'r', config.RESULT_TTL_SECONDS) },
    store: new WorkflowStore(redis, keys, config.RESULT_TTL_SECONDS),
    logger,
  });
  const worker = new NodeWorker(
    {
      queues,
      blocking,
      subscriber,
      cpuPool: createCpuPool(config.CPU_THREADS),
    },
    {
      queues: config.QUEUES,
      concurrency: config.WORKER_CONCURRENCY,
      leaseMs: config.LEASE_MS,
      longTaskStepMs: config.LONG_TASK_STEP_MS,
      maxDeliveries: config.MAX_DELIVERIES,
    },
    logger,
  );
  const heartbeat = startWorkerHeartbeat(
    redis,
    keys,
    () => ({
      id: worker.id,
      kind: 'node',
      queues: config.QUEUES,
      concurrency: config.WORKER_CONCURRENCY,
      running: worker.runningTaskIds(),
    }),
    (error) => logger.warn('could not write the worker heartbeat', { error }),
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, in_flight: worker.inFlight });
    worker
      .stop(config.SHUTDOWN_GRACE_MS)
      .then(() => Promise.all([heartbeat.stop(), advancer.stop()]))
      .then(() => handoffSubscriber.disconnect())
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
  await advancer.start(handoffSubscriber);
  await heartbeat.beat().catch((error: unknown) => logger.warn('could not write the worker heartbeat', { error }));
  logger.info('worker started', {
    worker_id: worker.id,
    queues: config.QUEUES,
    concurrency: config.WORKER_CONCURRENCY,
    lease_ms: config.LEASE_MS,
    pid: process.pid,
  });
}

void main();
