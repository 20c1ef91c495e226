/**
 * Per queue and kind: the figures GET /queues shows (waiting, active, delayed, dead, paused,
 * consumers, age of the oldest waiting task), as gauges. They are set from one reading of Redis per
 * scrape (gateway-metrics.ts), so a scrape shows exactly what GET /queues would have said.
 */
import { Gauge, type Registry } from 'prom-client';
import type { QueueService } from '../services/queue-service.js';

export type QueueFigures = Awaited<ReturnType<QueueService['list']>>;

export function createQueueMetrics(registry: Registry) {
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['kind', 'queue'] as const, registers: [registry] });
  const gauges = {
    waiting: gauge('switchyard_queue_waiting', 'Tasks waiting in the queue to be taken (all priorities).'),
    active: gauge('switchyard_queue_active', 'Tasks of the queue a worker holds now (running, under a lease).'),
    delayed: gauge('switchyard_queue_delayed', 'Tasks of the queue waiting for their eta, countdown or retry backoff.'),
    dead: gauge('switchyard_queue_dead', 'Dead letters of the queue: tasks that ended FAILURE, kept for requeue.'),
    paused: gauge('switchyard_queue_paused', '1 when the queue is paused (workers take nothing from it), else 0.'),
    consumers: gauge('switchyard_queue_consumers', 'Live workers (by their heartbeat) that take tasks from the queue.'),
    oldestAge: gauge(
      'switchyard_queue_oldest_waiting_age_seconds',
      'How long the oldest waiting task has waited; 0 when nothing waits.',
    ),
  };

  return {
    /** Replaces every queue's values by `figures` (queues that vanished stop being reported). */
    set(figures: QueueFigures): void {
      for (const metric of Object.values(gauges)) metric.reset();
      for (const queue of figures) {
        const labels = { kind: queue.kind, queue: queue.name };
        gauges.waiting.set(labels, queue.waiting);
        gauges.active.set(labels, queue.active);
        gauges.delayed.set(labels, queue.delayed);
        gauges.dead.set(labels, queue.dead);
        gauges.paused.set(labels, queue.paused ? 1 : 0);
        gauges.consumers.set(labels, queue.consumers);
        gauges.oldestAge.set(labels, (queue.oldest_waiting_age_ms ?? 0) / 1_000);
      }
    },
    /** Reports nothing for the queues (Redis could not be read in time): better absent than stale. */
    clear(): void {
      for (const metric of Object.values(gauges)) metric.reset();
    },
  };
}
