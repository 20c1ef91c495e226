/** What a Node task implementation receives and returns. */
export interface TaskContext {
  /** Records PROGRESS (current of total, with a message); resolves once written. */
  progress(current: number, total: number, status: string): Promise<void>;
  /** Aborted when the task must stop: shutdown hand-back or lost lease. */
  signal: AbortSignal;
  /** Length of one long_task step in ms (LONG_TASK_STEP_MS). */
  longTaskStepMs: number;
}

/** Arguments arrive already validated against the task's schema in shared/src/tasks.ts. */
export type TaskImplementation = (args: unknown[], context: TaskContext) => Promise<unknown>;
