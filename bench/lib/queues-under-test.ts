/**
 * The two queues bench/cost-growth.ts compares, Switchyard's Node queue and BullMQ, behind the same
 * few calls: fill one queue with no-op `add` tasks, run a worker on it, hold tasks active, pause and
 * count what is left. The bench uses them in-process and its worker child processes
 * (drain-worker.ts) use the same start-up, so a worker is set up one way only.
 *
 * Switchyard's side uses the public API as bench/queue-throughput.ts does (planTask +
 * TaskQueues.enqueue, NodeWorker, TaskQueues.claim/extendLeases for held tasks), so it keeps working
 * while the worker's internals change.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { TaskQueues, createKeyLayout, createRedis, planTask, silentLogger } from '@switchyard/shared';
import { createCpuPool } from '../../node-worker/dist/tasks/cpu-pool.js';
import { NodeWorker } from '../../node-worker/dist/worker.js';
import { until, type Deadline } from './deadline.js';

export const SYSTEMS = ['switchyard', 'bullmq'] as const;
export type System = (typeof SYSTEMS)[number];
export const isSystem = (name: string): name is System => (SYSTEMS as readonly string[]).includes(name);

/** Tasks enqueued concurrently (Switchyard) or per addBulk (BullMQ). */
const FILL_BATCH = 1_000;
/** Switchyard's queue within its key prefix; BullMQ's queue is the name itself. */
const SWITCHYARD_QUEUE = 'default';
/** Held tasks are claimed this many at a time. */
const HOLD_BATCH = 100;

export interface RunningWorker {
  /** Tasks this worker has finished. */
  finished(): number;
  stop(): Promise<void>;
}

export interface HeldTasks {
  /** How many of the held tasks are still active (their leases or locks intact). */
  stillActive(): Promise<number>;
  release(): Promise<void>;
}

export interface QueueUnderTest {
  readonly system: System;
  /** Adds `count` waiting no-op tasks; `onBatch` hears the running total. */
  fill(count: number, deadline: Deadline, onBatch?: (filled: number) => void): Promise<void>;
  startWorker(concurrency: number): Promise<RunningWorker>;
  /** Takes `count` waiting tasks and keeps them active, unfinished, for `leaseMs`. */
  hold(count: number, leaseMs: number, deadline: Deadline): Promise<HeldTasks>;
  setPaused(paused: boolean): Promise<void>;
  /** Tasks not finished yet: waiting, delayed or active. */
  unfinished(): Promise<number>;
  close(): Promise<void>;
}

/** `name`: Switchyard's key prefix, or BullMQ's queue name (a worker process is given the same one). */
export function openQueue(system: System, url: string, name: string): QueueUnderTest {
  return system === 'switchyard' ? switchyardQueue(url, name) : bullmqQueue(url, name);
}

export const newQueueName = () => `bench-${randomUUID().slice(0, 8)}`;

function switchyardQueue(url: string, prefix: string): QueueUnderTest {
  const redis = createRedis(url, 'worker');
  const queues = new TaskQueues(redis, createKeyLayout(prefix), 'node', 3_600);
  return {
    system: 'switchyard',
    async fill(count, deadline, onBatch) {
      for (let filled = 0; filled < count;) {
        deadline.check();
        const batch = Math.min(FILL_BATCH, count - filled);
        const outcomes = await Promise.all(
          Array.from({ length: batch }, () => {
            const { record, payload } = planTask('node', randomUUID(), {
              task: 'add',
              args: [1, 2],
              queue: SWITCHYARD_QUEUE,
            });
            return queues.enqueue(record, payload);
          }),
        );
        const refused = outcomes.find((outcome) => outcome !== 'ok');
        if (refused) throw new Error(`switchyard enqueue answered ${refused}`);
        filled += batch;
        onBatch?.(filled);
      }
    },
    async startWorker(concurrency) {
      const worker = new NodeWorker(
        {
          queues,
          blocking: createRedis(url, 'blocking'),
          subscriber: createRedis(url, 'blocking'),
          cpuPool: createCpuPool(1),
        },
        {
          queues: [SWITCHYARD_QUEUE],
          concurrency,
          leaseMs: 30_000,
          longTaskStepMs: 0,
          maxDeliveries: 20,
          blockTimeoutSeconds: 1,
        },
        silentLogger,
      );
      await worker.start();
      return { finished: () => worker.stats.success, stop: () => worker.stop(0) };
    },
    async hold(count, leaseMs, deadline) {
      const token = randomUUID();
      const ids: string[] = [];
      for (let round = 0; ids.length < count && round <= count / HOLD_BATCH + 1; round++) {
        deadline.check();
        const { tasks } = await queues.claim(
          SWITCHYARD_QUEUE,
          Math.min(HOLD_BATCH, count - ids.length),
          token,
          leaseMs,
        );
        ids.push(...tasks.map((task) => task.taskId));
      }
      if (ids.length < count) throw new Error(`switchyard: could claim only ${ids.length} of ${count} tasks to hold`);
      return {
        // Renewing the leases is also how a worker finds out which it has lost.
        stillActive: async () => count - (await queues.extendLeases(SWITCHYARD_QUEUE, ids, token, leaseMs)).lost.length,
        // Never finished: the bench flushes Redis after the case.
        release: async () => {},
      };
    },
    setPaused: (paused) => queues.setPaused(SWITCHYARD_QUEUE, paused),
    async unfinished() {
      const stats = await queues.stats(SWITCHYARD_QUEUE);
      return stats.waiting + stats.delayed + stats.active;
    },
    async close() {
      redis.disconnect();
    },
  };
}

const addJob = async (job: Job<number[]>) => (job.data[0] ?? 0) + (job.data[1] ?? 0);

function bullmqConnection(url: string) {
  return { host: '127.0.0.1', port: Number(new URL(url).port), maxRetriesPerRequest: null };
}

async function startBullmqWorker(
  url: string,
  name: string,
  concurrency: number,
  processor: (job: Job<number[]>) => Promise<unknown> = addJob,
  lockDuration?: number,
): Promise<RunningWorker> {
  let finished = 0;
  const worker = new Worker(name, processor, {
    connection: bullmqConnection(url),
    concurrency,
    autorun: false,
    ...(lockDuration ? { lockDuration } : {}),
  });
  worker.on('completed', () => finished++);
  await worker.waitUntilReady();
  void worker.run();
  return { finished: () => finished, stop: () => worker.close() };
}

function bullmqQueue(url: string, name: string): QueueUnderTest {
  const queue = new Queue(name, { connection: bullmqConnection(url) });
  let added = 0;
  return {
    system: 'bullmq',
    async fill(count, deadline, onBatch) {
      for (let filled = 0; filled < count;) {
        deadline.check();
        const batch = Math.min(FILL_BATCH, count - filled);
        await queue.addBulk(Array.from({ length: batch }, () => ({ name: 'add', data: [1, 2] })));
        filled += batch;
        added += batch;
        onBatch?.(filled);
      }
    },
    startWorker: (concurrency) => startBullmqWorker(url, name, concurrency),
    async hold(count, leaseMs, deadline) {
      let open = () => {};
      const gate = new Promise<void>((resolve) => (open = resolve));
      const holder = await startBullmqWorker(url, name, count, () => gate, leaseMs);
      await until(async () => (await queue.getActiveCount()) >= count, deadline, 50);
      return {
        stillActive: () => queue.getActiveCount(),
        async release() {
          open();
          await holder.stop();
        },
      };
    },
    setPaused: (paused) => (paused ? queue.pause() : queue.resume()),
    async unfinished() {
      const counts = await queue.getJobCounts('completed', 'failed');
      return added - (counts.completed ?? 0) - (counts.failed ?? 0);
    },
    close: () => queue.close(),
  };
}
