/**
 * Task outcomes and run times as the workers report them: finish, retry and cancel (the queue
 * scripts, shared/lua/includes/stats.lua) count every ended run into its queue's stats hash in
 * Redis, whichever worker (Node or R) ran it, so every gateway replica shows the same numbers.
 * These metrics only carry the last reading of those hashes (readTaskMetrics, one per queue,
 * gateway-metrics.ts reads them at scrape time): the counts are Redis', not this process's.
 */
import { RUNTIME_BUCKETS_SECONDS, type TaskMetrics, type WorkerKind } from '@switchyard/shared';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface QueueTaskMetrics {
  kind: WorkerKind;
  queue: string;
  metrics: TaskMetrics;
}

type RuntimeLabel = 'kind' | 'queue' | 'task';

const RUNTIME_NAME = 'switchyard_task_runtime_seconds';
const RUNTIME_HELP =
  'How long task runs took from start to their end (SUCCESS, FAILURE or REVOKED after starting), by worker kind, queue and task. Counted in Redis by the queue scripts, for every worker.';

/**
 * A histogram whose buckets, sum and count are read, not observed: it shows the values it was last
 * given (`show`); nothing calls observe(). prom-client's registry renders a histogram from its
 * getForPromString() (lib/registry.js), and Histogram.get() builds on it too, so that is the one
 * method replaced; it returns what Histogram's own returns: per series its buckets (cumulative,
 * `+Inf` last), `_sum` and `_count`, the series labels as `sharedLabels`.
 */
class ReadHistogram extends Histogram<RuntimeLabel> {
  private shown: QueueTaskMetrics[] = [];

  show(readings: QueueTaskMetrics[]): void {
    this.shown = readings;
  }

  getForPromString() {
    const values = this.shown.flatMap(({ kind, queue, metrics }) =>
      metrics.runtimes.flatMap(({ task, buckets, sum, count }) => {
        const sharedLabels = { kind, queue, task };
        return [
          ...buckets.map(({ le, count: inBucket }) => ({
            metricName: `${RUNTIME_NAME}_bucket`,
            labels: { le: le === Infinity ? '+Inf' : le },
            sharedLabels,
            value: inBucket,
          })),
          { metricName: `${RUNTIME_NAME}_sum`, labels: {}, sharedLabels, value: sum },
          { metricName: `${RUNTIME_NAME}_count`, labels: {}, sharedLabels, value: count },
        ];
      }),
    );
    return Promise.resolve({ name: RUNTIME_NAME, help: RUNTIME_HELP, type: 'histogram', values, aggregator: 'sum' });
  }
}

export function createTaskMetrics(registry: Registry) {
  const outcomes = new Counter({
    name: 'switchyard_tasks_total',
    help: 'Task runs that ended, by worker kind, queue, task and state: SUCCESS, FAILURE (given up: a dead letter), REVOKED (cancelled or expired), RETRY (a failed attempt with attempts left). Counted in Redis by the queue scripts, for every worker.',
    labelNames: ['kind', 'queue', 'task', 'state'] as const,
    registers: [registry],
  });
  const runtimes = new ReadHistogram({
    name: RUNTIME_NAME,
    help: RUNTIME_HELP,
    labelNames: ['kind', 'queue', 'task'],
    buckets: [...RUNTIME_BUCKETS_SECONDS],
    registers: [registry],
  });

  return {
    /** Shows `readings` (one per queue) until the next call. */
    set(readings: QueueTaskMetrics[]): void {
      outcomes.reset();
      for (const { kind, queue, metrics } of readings) {
        for (const { task, state, count } of metrics.outcomes) outcomes.inc({ kind, queue, task, state }, count);
      }
      runtimes.show(readings);
    },
    /** Shows nothing (Redis could not be read in time): better absent than stale. */
    clear(): void {
      outcomes.reset();
      runtimes.show([]);
    },
  };
}
