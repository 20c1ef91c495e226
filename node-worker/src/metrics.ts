/**
 * A Node worker's own metrics, for Prometheus to scrape from this process (metrics-server.ts):
 * Node.js process metrics, the tasks this process ran by how each run ended, and how many it runs
 * now. Cluster-wide task figures (outcomes of every worker, run times) are the gateway's: they are
 * counted in Redis; these are this process's view, to tell one sick worker from the rest.
 */
import { isNodeTaskName } from '@switchyard/shared';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunOutcome } from './task-runner.js';

export interface WorkerMetricsSource {
  readonly id: string;
  readonly inFlight: number;
}

export function createWorkerMetrics(
  worker: WorkerMetricsSource,
  settings: { queues: readonly string[]; concurrency: number },
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const runs = new Counter({
    name: 'switchyard_worker_tasks_total',
    help: 'Task runs this worker process ended since it started, by task and how the run ended (success, failure, retry, revoked, released: handed back at shutdown, lease_lost: another worker owns it now).',
    labelNames: ['task', 'state'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'switchyard_worker_running_tasks',
    help: 'Tasks this worker process is running now.',
    registers: [registry],
    collect() {
      this.set(worker.inFlight);
    },
  });
  new Gauge({
    name: 'switchyard_worker_concurrency',
    help: 'Most tasks this worker process runs at once (WORKER_CONCURRENCY).',
    registers: [registry],
  }).set(settings.concurrency);
  new Gauge({
    name: 'switchyard_worker_info',
    help: 'Always 1; the labels say which worker this is (its id in GET /workers), its kind and the queues it takes from, in order.',
    labelNames: ['kind', 'worker_id', 'queues'] as const,
    registers: [registry],
  }).set({ kind: 'node', worker_id: worker.id, queues: settings.queues.join(',') }, 1);

  return {
    registry,
    /** Counts one ended run. A task name outside the catalogue counts as `unknown`: labels stay bounded. */
    runEnded(task: string, outcome: RunOutcome): void {
      runs.inc({ task: isNodeTaskName(task) ? task : 'unknown', state: outcome });
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
