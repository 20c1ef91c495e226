/**
 * What a submission becomes when a task is accepted: its first record and the payload its worker
 * runs it from, every option resolved against the task's defaults. The gateway plans Node tasks
 * this way; the R service does the same in R (r-worker/R/service.R), checked by the end-to-end tests.
 */
import { resolveOptions, type TaskOptionsRequest } from './options.js';
import type { TaskPayload } from './queue.js';
import type { TaskRecord } from './status.js';
import { TASK_CATALOGUE, type WorkerKind } from './tasks.js';
import { pending } from './transitions.js';

/** What a caller asks for: a task, its arguments, and where and how to run it. */
export interface Submission {
  task: string;
  args: unknown[];
  /** Resolved by routing when the caller named none. */
  queue: string;
  options?: TaskOptionsRequest;
}

export function planTask(
  kind: WorkerKind,
  taskId: string,
  submission: Submission,
  now = Date.now(),
): { record: TaskRecord; payload: TaskPayload } {
  const definition = TASK_CATALOGUE[kind][submission.task];
  if (!definition) throw new Error(`no ${kind} task named ${submission.task}`);
  const options = resolveOptions(definition.defaults, submission.options, now);
  const record = pending(
    { task_id: taskId, worker: kind, queue: submission.queue, task: submission.task, args: submission.args, options },
    new Date(now).toISOString(),
  );
  return { record, payload: { task: submission.task, args: submission.args, created_at: record.created_at, options } };
}
