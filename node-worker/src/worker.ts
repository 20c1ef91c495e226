/**
 * A Node worker process's engine: takes tasks from its queues (in order of preference) up to its
 * concurrency, keeps their leases alive while they run, sweeps its queues for tasks of dead workers,
 * and on shutdown finishes or hands back what it holds. It never polls: when its queues have nothing
 * it blocks on their markers (BZPOPMIN) until work arrives or a delayed task falls due. Finished tasks
 * are acknowledged in batches that also take the next tasks of the worker's first queue (settler.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  released,
  type ClaimedTask,
  type Logger,
  type Redis,
  type TaskQueues,
  type TaskRecord,
} from '@switchyard/shared';
import type { CpuPool } from './tasks/cpu-pool.js';
import { Settler } from './settler.js';
import { TaskRun, type RunOutcome } from './task-runner.js';

export interface WorkerOptions {
  /** The queues to take from, most preferred first. */
  queues: readonly string[];
  concurrency: number;
  leaseMs: number;
  longTaskStepMs: number;
  /** A task delivered more often than this (its worker keeps dying) is given up. */
  maxDeliveries: number;
  /** Longest a blocking wait lasts before the loop looks around again (s). */
  blockTimeoutSeconds?: number;
  /** Told how every run ended (the worker's metrics count them). */
  onRunEnded?: (task: string, outcome: RunOutcome) => void;
}

export interface WorkerConnections {
  queues: TaskQueues;
  /** A connection of its own: BZPOPMIN blocks it. */
  blocking: Redis;
  /** A connection of its own, subscribed to the cancel channel. */
  subscriber: Redis;
  cpuPool: CpuPool;
}

export type WorkerStats = Record<RunOutcome, number>;

/** Upkeep (redelivery, due delayed tasks) runs at least this often. */
const MAX_MAINTENANCE_INTERVAL_MS = 500;

export class NodeWorker {
  /** Identifies this worker's leases; a new one per process start. */
  readonly token = randomUUID();
  /** How this worker appears in the registry (`GET /workers`). */
  readonly id = `node-${this.token.slice(0, 8)}`;
  readonly stats: WorkerStats = { success: 0, failure: 0, retry: 0, revoked: 0, released: 0, lease_lost: 0 };
  private readonly running = new Map<string, { run: TaskRun; done: Promise<void> }>();
  private accepting = false;
  private loopDone: Promise<void> = Promise.resolve();
  private slotFreed: (() => void) | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Hand-backs of tasks that arrived while stopping; stop() waits for them. */
  private readonly handingBack = new Set<Promise<void>>();

  private readonly queues: TaskQueues;
  private readonly blocking: Redis;
  private readonly settler: Settler;

  constructor(
    private readonly connections: WorkerConnections,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
  ) {
    this.queues = connections.queues;
    this.blocking = connections.blocking;
    this.settler = new Settler({
      queues: this.queues,
      token: this.token,
      leaseMs: options.leaseMs,
      refillCount: (name, freed) => this.refillCount(name, freed),
      taken: (tasks) => this.takenWithAcknowledgements(tasks),
    });
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Ids of the tasks running now. */
  runningTaskIds(): string[] {
    return [...this.running.keys()];
  }

  async start(): Promise<void> {
    this.accepting = true;
    const { subscriber } = this.connections;
    subscriber.on('message', (_channel: string, taskId: string) => this.running.get(taskId)?.run.stop('revoked'));
    await subscriber.subscribe(this.queues.keys.cancelChannel('node'));
    for (const name of this.options.queues) this.queues.remember(this.queues.queue(name));
    const { leaseMs } = this.options;
    this.timers = [
      setInterval(() => void this.renewLeases(), Math.max(100, Math.floor(leaseMs / 3))),
      setInterval(() => void this.maintain(), Math.min(MAX_MAINTENANCE_INTERVAL_MS, Math.floor(leaseMs / 2))),
    ];
    void this.maintain();
    this.loopDone = this.takeLoop();
  }

  /**
   * Stops taking tasks, lets running ones finish for up to `graceMs`, then hands the rest back to the
   * front of their queues so another worker runs them next.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    this.blocking.disconnect(); // ends a pending BZPOPMIN at once
    this.slotFreed?.();
    await this.loopDone;
    const allDone = Promise.all([...this.running.values()].map((entry) => entry.done));
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
    await Promise.race([allDone, graceOver]);
    clearTimeout(graceTimer);
    await Promise.all([...this.running.values()].map(({ run }) => this.handBack(run)));
    await allDone;
    await Promise.all(this.handingBack);
    for (const timer of this.timers) clearInterval(timer);
    this.connections.subscriber.disconnect();
    await this.connections.cpuPool.close();
  }

  private async takeLoop(): Promise<void> {
    const { concurrency, queues } = this.options;
    const maxBlockMs = (this.options.blockTimeoutSeconds ?? 5) * 1_000;
    while (this.accepting) {
      if (concurrency - this.running.size <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        const { taken, nextWorkAt } = await this.claimFromQueues();
        if (taken > 0) continue;
        // Nothing to take: block until a marker says work arrived, or a delayed task falls due.
        const untilDue = nextWorkAt < 0 ? maxBlockMs : Math.max(0, nextWorkAt - Date.now());
        const waitMs = Math.min(maxBlockMs, untilDue);
        if (waitMs < 10) continue;
        const woken = await this.queues.waitForWork(this.blocking, queues, waitMs / 1_000);
        if (woken && woken.dueAt > Date.now() + 10) {
          // The marker says when work is due, not that it is there: wait for that moment.
          await new Promise((resolve) => setTimeout(resolve, Math.min(maxBlockMs, woken.dueAt - Date.now())));
        }
      } catch (error) {
        if (!this.accepting) break;
        // Redis is away: the connections reconnect by themselves; try again shortly.
        this.logger.warn('could not take tasks; retrying', { error });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Claims into the free slots, from each queue in order of preference; says when work is next due. */
  private async claimFromQueues(): Promise<{ taken: number; nextWorkAt: number }> {
    let taken = 0;
    let nextWorkAt = -1;
    for (const name of this.options.queues) {
      const free = this.options.concurrency - this.running.size;
      if (free <= 0) break;
      const claimed = await this.queues.claim(name, free, this.token, this.options.leaseMs);
      for (const task of claimed.tasks) this.launch(new TaskRun(task, this.runnerDeps()));
      taken += claimed.tasks.length;
      if (claimed.nextWorkAt >= 0 && (nextWorkAt < 0 || claimed.nextWorkAt < nextWorkAt))
        nextWorkAt = claimed.nextWorkAt;
    }
    return { taken, nextWorkAt };
  }

  private runnerDeps() {
    const { queues, cpuPool } = this.connections;
    const { longTaskStepMs, maxDeliveries } = this.options;
    const finish = (record: TaskRecord, deadLetter: boolean) => this.settler.finish(record, deadLetter);
    return { queues, cpuPool, finish, longTaskStepMs, maxDeliveries, token: this.token, logger: this.logger };
  }

  /**
   * How many tasks an acknowledgement of `freed` tasks of queue `name` may take along: the slots they
   * free, and only from the worker's first queue (the take loop serves the others in order of
   * preference), and none once it stops taking.
   */
  private refillCount(name: string, freed: number): number {
    if (!this.accepting || name !== this.options.queues[0]) return 0;
    return Math.max(0, Math.min(freed, this.options.concurrency - this.running.size + freed));
  }

  private takenWithAcknowledgements(tasks: ClaimedTask[]): void {
    for (const task of tasks) {
      const run = new TaskRun(task, this.runnerDeps());
      // Taken while the worker began to stop: back to the front of the queue at once.
      if (this.accepting) this.launch(run);
      else this.handingBack.add(this.handBack(run));
    }
  }

  private launch(run: TaskRun): void {
    const done = run
      .execute()
      .catch((error: unknown): RunOutcome => {
        // Only Redis failures get here (task errors become FAILURE records); the lease expires and
        // the task is redelivered.
        this.logger.error('could not record task outcome; it will be redelivered', {
          task_id: run.taskId,
          error,
        });
        return 'lease_lost';
      })
      .then((outcome) => {
        this.stats[outcome]++;
        this.options.onRunEnded?.(run.record.task, outcome);
        this.running.delete(run.taskId);
        const wake = this.slotFreed;
        this.slotFreed = null;
        wake?.();
      });
    this.running.set(run.taskId, { run, done });
  }

  private async handBack(run: TaskRun): Promise<void> {
    run.stop('shutdown');
    const record = released(run.record);
    try {
      const handedBack = await this.queues.release(record, this.token);
      this.logger.info(handedBack ? 'task handed back to the queue' : 'lease already lost', {
        task_id: record.task_id,
        queue: record.queue,
      });
    } catch (error) {
      this.logger.error('could not hand task back; it is redelivered when its lease expires', {
        task_id: record.task_id,
        error,
      });
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.running.size === 0) return;
    const byQueue = new Map<string, string[]>();
    for (const [taskId, { run }] of this.running) {
      const ids = byQueue.get(run.claimed.queue) ?? [];
      ids.push(taskId);
      byQueue.set(run.claimed.queue, ids);
    }
    await Promise.all(
      [...byQueue].map(async ([name, taskIds]) => {
        try {
          const { lost, revoked } = await this.queues.extendLeases(name, taskIds, this.token, this.options.leaseMs);
          for (const taskId of lost) this.running.get(taskId)?.run.stop('lease_lost');
          for (const taskId of revoked) this.running.get(taskId)?.run.stop('revoked');
        } catch (error) {
          this.logger.warn('could not renew leases', { queue: name, error });
        }
      }),
    );
  }

  private async maintain(): Promise<void> {
    await Promise.all(
      this.options.queues.map(async (name) => {
        try {
          const { requeued } = await this.queues.maintain(name);
          for (const taskId of requeued)
            this.logger.warn('lease expired; task requeued', { task_id: taskId, queue: name });
        } catch (error) {
          this.logger.warn('could not run queue upkeep', { queue: name, error });
        }
      }),
    );
  }
}
