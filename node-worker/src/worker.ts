/**
 * A Node worker process's engine: takes tasks from the queue up to its concurrency, keeps their
 * leases alive while they run, redelivers tasks of dead workers, and on shutdown finishes or hands
 * back what it holds. It never polls: when the queue is empty it blocks on BLMOVE.
 */
import { randomUUID } from 'node:crypto';
import { nowIso, type Logger, type NodeQueue, type Redis } from '@switchyard/shared';
import type { CpuPool } from './tasks/cpu-pool.js';
import { TaskRun, type RunOutcome } from './task-runner.js';

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  longTaskStepMs: number;
  /** A task delivered more often than this (its worker keeps dying) is given up. */
  maxDeliveries: number;
  /** How long BLMOVE waits before the loop looks around again (s). */
  blockTimeoutSeconds?: number;
}

export interface WorkerConnections {
  queue: NodeQueue;
  /** A connection of its own: BLMOVE blocks it. */
  blocking: Redis;
  /** A connection of its own, subscribed to the cancel channel. */
  subscriber: Redis;
  cancelChannel: string;
  cpuPool: CpuPool;
}

export type WorkerStats = Record<RunOutcome, number>;

/** Upkeep (redelivery, due retries) runs at least this often, so a retry's backoff is kept closely. */
const MAX_MAINTENANCE_INTERVAL_MS = 500;

export class NodeWorker {
  /** Identifies this worker's leases; a new one per process start. */
  readonly token = randomUUID();
  readonly stats: WorkerStats = { success: 0, failure: 0, retry: 0, revoked: 0, released: 0, lease_lost: 0 };
  private readonly running = new Map<string, { run: TaskRun; done: Promise<void> }>();
  private accepting = false;
  private loopDone: Promise<void> = Promise.resolve();
  private slotFreed: (() => void) | null = null;
  private timers: NodeJS.Timeout[] = [];

  private readonly queue: NodeQueue;
  private readonly blocking: Redis;

  constructor(
    private readonly connections: WorkerConnections,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
  ) {
    this.queue = connections.queue;
    this.blocking = connections.blocking;
  }

  get inFlight(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    this.accepting = true;
    const { subscriber, cancelChannel } = this.connections;
    subscriber.on('message', (_channel: string, taskId: string) => this.running.get(taskId)?.run.stop('revoked'));
    await subscriber.subscribe(cancelChannel);
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
   * queue so another worker runs them next.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    this.blocking.disconnect(); // ends a pending BLMOVE at once
    this.slotFreed?.();
    await this.loopDone;
    const allDone = Promise.all([...this.running.values()].map((entry) => entry.done));
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
    await Promise.race([allDone, graceOver]);
    clearTimeout(graceTimer);
    await Promise.all([...this.running.values()].map(({ run }) => this.handBack(run)));
    await allDone;
    for (const timer of this.timers) clearInterval(timer);
    this.connections.subscriber.disconnect();
    await this.connections.cpuPool.close();
  }

  private async takeLoop(): Promise<void> {
    const { concurrency, leaseMs } = this.options;
    while (this.accepting) {
      const free = concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        let claimed = await this.queue.claim(free, this.token, leaseMs);
        if (claimed.length === 0) {
          const moved = await this.queue.waitForTask(this.blocking, this.options.blockTimeoutSeconds ?? 5);
          if (moved === null) continue;
          claimed = await this.queue.claim(free, this.token, leaseMs, moved);
        }
        for (const task of claimed) this.launch(new TaskRun(task, this.runnerDeps()));
      } catch (error) {
        if (!this.accepting) break;
        // Redis is away: the connections reconnect by themselves; try again shortly.
        this.logger.warn('could not take tasks; retrying', { error });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private runnerDeps() {
    const { queue, cpuPool } = this.connections;
    const { longTaskStepMs, maxDeliveries } = this.options;
    return { queue, cpuPool, longTaskStepMs, maxDeliveries, token: this.token, logger: this.logger };
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
        this.running.delete(run.taskId);
        const wake = this.slotFreed;
        this.slotFreed = null;
        wake?.();
      });
    this.running.set(run.taskId, { run, done });
  }

  private async handBack(run: TaskRun): Promise<void> {
    run.stop('shutdown');
    const record = {
      ...run.record,
      state: 'PENDING' as const,
      status: 'Requeued: its worker shut down',
      updated_at: nowIso(),
    };
    try {
      const released = await this.queue.release(record, this.token);
      this.logger.info(released ? 'task handed back to the queue' : 'lease already lost', {
        task_id: record.task_id,
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
    try {
      const { lost, revoked } = await this.queue.extendLeases(
        [...this.running.keys()],
        this.token,
        this.options.leaseMs,
      );
      for (const taskId of lost) this.running.get(taskId)?.run.stop('lease_lost');
      for (const taskId of revoked) this.running.get(taskId)?.run.stop('revoked');
    } catch (error) {
      this.logger.warn('could not renew leases', { error });
    }
  }

  private async maintain(): Promise<void> {
    try {
      const { requeued } = await this.queue.maintain(this.options.leaseMs);
      for (const taskId of requeued) this.logger.warn('lease expired; task requeued', { task_id: taskId });
    } catch (error) {
      this.logger.warn('could not run queue upkeep', { error });
    }
  }
}
