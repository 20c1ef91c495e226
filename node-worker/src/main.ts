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
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { createCpuPool } from './tasks/cpu-pool.js';
import { NodeWorker } from './worker.js';

/**
 * Under `npm start` the output goes through a pipe to scripts/start.mjs. Should start.mjs be killed,
 * its reaper asks this worker to stop; a log line written to the closed pipe must not crash the worker
 * before it has handed its running tasks back.
 */
function surviveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}

async function main(): Promise<void> {
  surviveClosedOutput();
  const config = loadConfigOrExit(NodeWorkerEnv, 'node-worker');
  const logger = createLogger('node-worker', config.LOG_LEVEL);
  const redis = createRedis(config.redis, 'worker');
  const blocking = createRedis(config.redis, 'blocking');
  const subscriber = createRedis(config.redis, 'blocking');
  const handoffSubscriber = createRedis(config.redis, 'blocking');
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
      onRunEnded: (task, outcome) => metrics?.runEnded(task, outcome),
    },
    logger,
  );
  const metrics: WorkerMetrics | null =
    config.METRICS_PORT === 0
      ? null
      : createWorkerMetrics(worker, { queues: config.QUEUES, concurrency: config.WORKER_CONCURRENCY });
  // Before taking any task: a port in use is a setting to change (exit 2), found before work is held.
  const metricsServer = metrics
    ? await startMetricsServer(metrics.registry, config.METRICS_HOST, config.METRICS_PORT).catch((error: unknown) => {
        process.stderr.write(
          `node-worker: cannot serve metrics: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(2);
      })
    : null;
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
      .then(() => metricsServer?.close())
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
    ...(metricsServer ? { metrics: `http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics` } : {}),
  });
}

void main();
