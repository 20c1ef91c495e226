/** The operator's view of queues and workers, both kinds: figures, consumers, pause and resume. */
import {
  SwitchyardError,
  WORKER_KINDS,
  listWorkers,
  readThroughput,
  parseQueueId,
  type KeyLayout,
  type Redis,
  type TaskQueues,
  type WorkerInfo,
  type WorkerKind,
} from '@switchyard/shared';
import type { z } from 'zod';
import type { QueueInfo } from '../http/schemas.js';
import { knownQueues } from './task-service.js';

/** The minutes of throughput each queue shows (the dashboard's chart). */
const THROUGHPUT_MINUTES = 15;

export function createQueueService(redis: Redis, keys: KeyLayout, queues: Record<WorkerKind, TaskQueues>) {
  async function info(
    kind: WorkerKind,
    name: string,
    workers: WorkerInfo[],
    now: number,
  ): Promise<z.infer<typeof QueueInfo>> {
    const [stats, throughput] = await Promise.all([
      queues[kind].stats(name),
      readThroughput(redis, keys, kind, name, THROUGHPUT_MINUTES, now),
    ]);
    const byPriority: Record<string, number> = {};
    stats.waitingByPriority.forEach((count, priority) => {
      if (count > 0) byPriority[String(priority)] = count;
    });
    return {
      kind,
      name,
      waiting: stats.waiting,
      waiting_by_priority: byPriority,
      delayed: stats.delayed,
      active: stats.active,
      dead: stats.dead,
      paused: stats.paused,
      consumers: workers.filter((worker) => worker.kind === kind && worker.queues.includes(name)).length,
      throughput,
      oldest_waiting_age_ms: stats.oldestWaitingSince === null ? null : Math.max(0, now - stats.oldestWaitingSince),
    };
  }

  async function exists(kind: WorkerKind, name: string): Promise<boolean> {
    return (await redis.sismember(keys.queueSet, `${kind}:${name}`)) === 1;
  }

  return {
    workers: () => listWorkers(redis, keys),

    /** Every queue of both kinds that has been used or that a live worker serves. */
    async list(): Promise<z.infer<typeof QueueInfo>[]> {
      const now = Date.now();
      const workers = await listWorkers(redis, keys, now);
      const names = new Set<string>();
      for (const kind of WORKER_KINDS)
        for (const name of await knownQueues(redis, queues[kind], kind)) names.add(`${kind}:${name}`);
      for (const worker of workers) for (const name of worker.queues) names.add(`${worker.kind}:${name}`);
      const all = [...names].sort().flatMap((id) => {
        const queue = parseQueueId(id);
        return queue === null ? [] : [info(queue.kind, queue.name, workers, now)];
      });
      return Promise.all(all);
    },

    async one(kind: WorkerKind, name: string): Promise<z.infer<typeof QueueInfo>> {
      const now = Date.now();
      const workers = await listWorkers(redis, keys, now);
      const served = workers.some((worker) => worker.kind === kind && worker.queues.includes(name));
      if (!served && !(await exists(kind, name))) throw notFound(kind, name);
      return info(kind, name, workers, now);
    },

    async setPaused(kind: WorkerKind, name: string, paused: boolean): Promise<z.infer<typeof QueueInfo>> {
      await queues[kind].setPaused(name, paused);
      return info(kind, name, await listWorkers(redis, keys), Date.now());
    },
  };
}

function notFound(kind: WorkerKind, name: string): SwitchyardError {
  return new SwitchyardError(
    'queue_not_found',
    `No ${kind} queue named ${name}: no task was ever queued there and no worker serves it`,
  );
}

export type QueueService = ReturnType<typeof createQueueService>;
