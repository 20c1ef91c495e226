import type { CpuTaskName } from './cpu-thread.js';

/** What a Node task implementation receives besides its arguments. */
export interface TaskContext {
  /** Records PROGRESS (current of total, with a message); resolves once written. */
  progress(current: number, total: number, status: string): Promise<void>;
  /** Aborted when the task must stop now: cancelled, hard time limit, shutdown hand-back, lost lease. */
  signal: AbortSignal;
  /** Aborted at the soft time limit: the task should wrap up and stop (it is failed if it does not). */
  softLimit: AbortSignal;
  /** Runs a CPU-bound function on a pool thread, so the event loop stays free; stops with `signal`. */
  runOffThread(name: CpuTaskName, args: number[]): Promise<unknown>;
  /** Length of one long_task step in ms (LONG_TASK_STEP_MS). */
  longTaskStepMs: number;
}

/** A task's implementation, typed by its argument schema in shared/src/tasks.ts. */
export type TaskImplementation<Args> = (args: Args, context: TaskContext) => Promise<unknown>;
