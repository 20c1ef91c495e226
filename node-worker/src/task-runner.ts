/**
 * Runs one claimed task and records what happens: STARTED, PROGRESS per step, then SUCCESS, RETRY
 * (a failed attempt with attempts left), FAILURE (given up: dead letter) or REVOKED (cancelled or
 * expired). Time limits, cancellation and shutdown all stop a task through one AbortController.
 */
import {
  RECORD_STATUS,
  isNodeTaskName,
  backoffDelayMs,
  failed,
  pending,
  progress,
  retrying,
  revoked,
  started,
  succeeded,
  traceIdOf,
  type ClaimedTask,
  type Logger,
  type TaskQueues,
  type TaskRecord,
} from '@switchyard/shared';
import type { CpuPool } from './tasks/cpu-pool.js';
import { runTask } from './tasks/index.js';

export interface TaskRunnerDeps {
  queues: TaskQueues;
  /** Acknowledges the task with its terminal record (batched with others: settler.ts); false if the lease is lost. */
  finish(record: TaskRecord, deadLetter: boolean): Promise<boolean>;
  token: string;
  longTaskStepMs: number;
  /** A task delivered more often than this (its worker keeps dying) is given up. */
  maxDeliveries: number;
  cpuPool: CpuPool;
  logger: Logger;
}

/** Why a running task was stopped from outside. */
export type StopReason = 'shutdown' | 'lease_lost' | 'revoked' | 'time_limit';

/** How a run ended. `released` and `lease_lost` runs left the task to the queue or another worker. */
export type RunOutcome = 'success' | 'failure' | 'retry' | 'revoked' | 'released' | 'lease_lost';

const OUTCOME_OF_STATE: Partial<Record<TaskRecord['state'], RunOutcome>> = {
  SUCCESS: 'success',
  FAILURE: 'failure',
  REVOKED: 'revoked',
};

export class TaskRun {
  // Made when a task first asks for its signals: most short tasks never do, and an AbortController
  // costs more than the rest of such a task's run.
  private abort: AbortController | null = null;
  private softLimit: AbortController | null = null;
  private softLimitReached = false;
  private stopReason: StopReason | null = null;
  private pendingStarted: NodeJS.Immediate | null = null;
  record: TaskRecord;

  constructor(
    readonly claimed: ClaimedTask,
    private readonly deps: TaskRunnerDeps,
  ) {
    const { taskId, queue, payload, attempts } = claimed;
    const first = pending(
      {
        task_id: taskId,
        worker: 'node',
        queue,
        task: payload.task,
        args: payload.args,
        options: payload.options,
        workflow_id: payload.workflow_id ?? null,
        parent_id: payload.parent_id ?? null,
        traceparent: payload.traceparent ?? null,
      },
      payload.created_at,
    );
    this.record = started(first, attempts);
  }

  get taskId(): string {
    return this.claimed.taskId;
  }

  /** Stops the task; the first reason given wins. */
  stop(reason: StopReason): void {
    this.cancelStartedWrite();
    this.stopReason ??= reason;
    this.abort?.abort(new Error(reason));
  }

  private get signal(): AbortSignal {
    if (!this.abort) {
      this.abort = new AbortController();
      if (this.stopReason !== null) this.abort.abort(new Error(this.stopReason));
    }
    return this.abort.signal;
  }

  private get softLimitSignal(): AbortSignal {
    if (!this.softLimit) {
      this.softLimit = new AbortController();
      if (this.softLimitReached) this.softLimit.abort(new Error('soft time limit'));
    }
    return this.softLimit.signal;
  }

  private reachSoftLimit(): void {
    this.softLimitReached = true;
    this.softLimit?.abort(new Error('soft time limit'));
  }

  async execute(): Promise<RunOutcome> {
    const { options } = this.claimed.payload;
    const log = {
      task_id: this.taskId,
      task: this.record.task,
      queue: this.record.queue,
      attempts: this.record.attempts,
      // The caller's trace (W3C traceparent), so the task's lines join its trace in any log store.
      trace_id: traceIdOf(this.record.traceparent),
    };
    if (this.claimed.revoked) return this.end(revoked(this.record, 'Cancelled'), log);
    if (options.expires_at !== null && Date.parse(options.expires_at) <= Date.now()) {
      return this.end(revoked(this.record, `Expired at ${options.expires_at} before it started`), log);
    }
    if (this.claimed.attempts > this.deps.maxDeliveries) {
      const reason = `gave up after ${this.deps.maxDeliveries} deliveries: its worker was lost each time`;
      return this.end(failed(this.record, reason), log);
    }
    this.deps.logger.info('task started', log);
    this.recordStartedSoon();

    const timers = [
      options.soft_time_limit_ms !== null && setTimeout(() => this.reachSoftLimit(), options.soft_time_limit_ms),
      options.time_limit_ms !== null && setTimeout(() => this.stop('time_limit'), options.time_limit_ms),
    ];
    try {
      const result = await this.invoke();
      if (this.stopReason === null) return await this.succeed(result, log);
    } catch (error) {
      if (this.stopReason === null) {
        if (this.softLimitReached) {
          const reason = `soft time limit exceeded (${options.soft_time_limit_ms} ms)`;
          return this.end(failed(this.record, reason), log);
        }
        return this.failAttempt(error instanceof Error ? error.message : String(error), log);
      }
    } finally {
      for (const timer of timers) if (timer) clearTimeout(timer);
    }
    switch (this.stopReason) {
      case 'shutdown':
        return 'released';
      case 'lease_lost':
        return this.leaseLost(log);
      case 'revoked':
        return this.end(revoked(this.record, RECORD_STATUS.cancelledRunning), log);
      case 'time_limit':
        return this.end(failed(this.record, `time limit exceeded (${options.time_limit_ms} ms)`), log);
    }
  }

  private async invoke(): Promise<unknown> {
    const name = this.record.task;
    if (!isNodeTaskName(name)) throw new Error(`unknown task "${name}"`);
    // Getters, so a signal is made only if the task reads it.
    const signal = () => this.signal;
    const softLimit = () => this.softLimitSignal;
    return runTask(name, this.record.args, {
      get signal() {
        return signal();
      },
      get softLimit() {
        return softLimit();
      },
      longTaskStepMs: this.deps.longTaskStepMs,
      progress: (current, total, status) => this.progress(current, total, status),
      // A computation cannot be told to wrap up, so the soft limit stops it too.
      runOffThread: (task, args) =>
        this.deps.cpuPool.run(task, args, AbortSignal.any([this.signal, this.softLimitSignal])),
    });
  }

  /**
   * Writes the STARTED record once the task has yielded to the event loop: a task that finishes within
   * its first turn (add) goes straight to its terminal record, which carries started_at and attempts,
   * saving a Redis write per fast task. Any later write cancels a STARTED write not yet sent, so
   * records never go backwards.
   */
  private recordStartedSoon(): void {
    this.pendingStarted = setImmediate(() => {
      this.pendingStarted = null;
      void this.deps.queues
        .writeRecord(this.record, this.deps.token)
        .then((written: boolean) => written || this.stop('lease_lost'))
        .catch(() => {}); // Redis away: the next write or the lease expiry settles it
    });
  }

  private cancelStartedWrite(): void {
    if (this.pendingStarted) clearImmediate(this.pendingStarted);
    this.pendingStarted = null;
  }

  private async progress(current: number, total: number, status: string): Promise<void> {
    this.cancelStartedWrite();
    if (this.stopReason !== null) return;
    this.record = progress(this.record, current, total, status);
    if (!(await this.deps.queues.writeRecord(this.record, this.deps.token))) this.stop('lease_lost');
  }

  private async succeed(result: unknown, log: Record<string, unknown>): Promise<RunOutcome> {
    return this.end(succeeded(this.record, result), log);
  }

  /** An attempt threw: retry after the backoff while attempts are left, else give up. */
  private async failAttempt(message: string, log: Record<string, unknown>): Promise<RunOutcome> {
    const { options } = this.claimed.payload;
    const failures = this.claimed.failures + 1;
    if (failures >= options.max_attempts) {
      const reason = options.max_attempts > 1 ? `${message} (gave up after ${failures} attempts)` : message;
      return this.end(failed(this.record, reason), log);
    }
    const delayMs = backoffDelayMs(options.backoff, failures);
    this.cancelStartedWrite();
    this.record = retrying(this.record, message, failures, delayMs);
    if (!(await this.deps.queues.retry(this.record, this.deps.token, delayMs))) return this.leaseLost(log);
    this.deps.logger.warn('task attempt failed; retrying', { ...log, error: message, delay_ms: delayMs });
    return 'retry';
  }

  /** Writes a terminal record and acknowledges the task; a FAILURE becomes a dead letter. */
  private async end(terminal: TaskRecord, log: Record<string, unknown>): Promise<RunOutcome> {
    this.cancelStartedWrite();
    this.record = terminal;
    const { state, error } = terminal;
    if (!(await this.deps.finish(terminal, state === 'FAILURE'))) return this.leaseLost(log);
    const outcome = OUTCOME_OF_STATE[state] ?? 'failure';
    this.deps.logger[state === 'SUCCESS' ? 'info' : 'warn'](`task ${outcome === 'success' ? 'succeeded' : outcome}`, {
      ...log,
      ...(error === null ? {} : { error }),
    });
    return outcome;
  }

  private leaseLost(log: Record<string, unknown>): RunOutcome {
    this.deps.logger.warn('lease lost; another worker owns the task now', log);
    return 'lease_lost';
  }
}
