/**
 * Runs one claimed task and records what happens: STARTED, PROGRESS per step, then SUCCESS or
 * FAILURE. A task that throws becomes FAILURE with its message; the worker carries on.
 */
import {
  NODE_TASKS,
  nowIso,
  stepsOf,
  type ClaimedTask,
  type Logger,
  type NodeQueue,
  type NodeTaskName,
  type TaskRecord,
} from '@switchyard/shared';
import { TASK_IMPLEMENTATIONS } from './tasks/index.js';

export interface TaskRunnerDeps {
  queue: NodeQueue;
  token: string;
  longTaskStepMs: number;
  logger: Logger;
}

/** How a run ended; `released` and `lease_lost` runs left the task to the queue or another worker. */
export type RunOutcome = 'success' | 'failure' | 'released' | 'lease_lost';

export class TaskRun {
  readonly abort = new AbortController();
  /** Why the run was aborted: the worker hands it back, or another worker owns it now. */
  abortReason: 'shutdown' | 'lease_lost' | null = null;
  record: TaskRecord;

  constructor(
    readonly claimed: ClaimedTask,
    private readonly deps: TaskRunnerDeps,
  ) {
    const { taskId, payload, attempts } = claimed;
    const now = nowIso();
    this.record = {
      task_id: taskId,
      worker: 'node',
      task: payload.task,
      args: payload.args,
      state: 'STARTED',
      current: 0,
      total: stepsOf(payload.task, payload.args),
      status: attempts > 1 ? `Started (attempt ${attempts})` : 'Started',
      result: null,
      error: null,
      attempts,
      created_at: payload.created_at,
      started_at: now,
      updated_at: now,
      finished_at: null,
    };
  }

  stop(reason: 'shutdown' | 'lease_lost'): void {
    this.abortReason ??= reason;
    this.abort.abort(new Error(reason));
  }

  async execute(): Promise<RunOutcome> {
    const { queue, token, logger } = this.deps;
    const log = { task_id: this.record.task_id, task: this.record.task, attempts: this.record.attempts };
    logger.info('task started', log);
    if (!(await queue.writeRecord(this.record, token))) return this.leaseLost(log);

    let terminal: Partial<TaskRecord>;
    try {
      const result = await this.invoke();
      terminal = { state: 'SUCCESS', current: this.record.total, status: 'Task completed!', result };
    } catch (error) {
      if (this.abortReason === 'shutdown') return 'released';
      if (this.abortReason === 'lease_lost') return this.leaseLost(log);
      const message = error instanceof Error ? error.message : String(error);
      terminal = { state: 'FAILURE', status: 'Task failed', error: message };
    }
    const now = nowIso();
    this.record = { ...this.record, ...terminal, updated_at: now, finished_at: now };
    if (this.abortReason === 'shutdown') return 'released';
    if (!(await queue.finish(this.record, token))) return this.leaseLost(log);
    logger.info(this.record.state === 'SUCCESS' ? 'task succeeded' : 'task failed', {
      ...log,
      error: this.record.error ?? undefined,
    });
    return this.record.state === 'SUCCESS' ? 'success' : 'failure';
  }

  private async invoke(): Promise<unknown> {
    const name = this.record.task;
    if (!Object.hasOwn(NODE_TASKS, name)) throw new Error(`unknown task "${name}"`);
    const taskName = name as NodeTaskName;
    const parsed = NODE_TASKS[taskName].args.safeParse(this.record.args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`invalid args${issue ? ` at ${['args', ...issue.path].join('.')}: ${issue.message}` : ''}`);
    }
    return TASK_IMPLEMENTATIONS[taskName](parsed.data, {
      signal: this.abort.signal,
      longTaskStepMs: this.deps.longTaskStepMs,
      progress: (current, total, status) => this.progress(current, total, status),
    });
  }

  private async progress(current: number, total: number, status: string): Promise<void> {
    this.record = { ...this.record, state: 'PROGRESS', current, total, status, updated_at: nowIso() };
    if (!(await this.deps.queue.writeRecord(this.record, this.deps.token))) this.stop('lease_lost');
  }

  private leaseLost(log: Record<string, unknown>): RunOutcome {
    this.deps.logger.warn('lease lost; another worker owns the task now', log);
    return 'lease_lost';
  }
}
