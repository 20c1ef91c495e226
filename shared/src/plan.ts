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
  /** The W3C traceparent of the request that submitted it (shared/src/trace.ts). */
  traceparent?: string;
}

/** A workflow step: its workflow, the step it follows, and when the workflow was created. */
export interface StepOrigin {
  workflow_id: string;
  parent_id: string | null;
  created_at: string;
}

/**
 * `now` resolves relative options (countdown, expires in seconds) and is the record's created_at,
 * unless `step` says the task is a workflow step, created with its workflow.
 */
export function planTask(
  kind: WorkerKind,
  taskId: string,
  submission: Submission,
  now = Date.now(),
  step?: StepOrigin,
): { record: TaskRecord; payload: TaskPayload } {
  const definition = TASK_CATALOGUE[kind][submission.task];
  if (!definition) throw new Error(`no ${kind} task named ${submission.task}`);
  const options = resolveOptions(definition.defaults, submission.options, now);
  const { task, args, queue } = submission;
  const ids = {
    ...(step ? { workflow_id: step.workflow_id, parent_id: step.parent_id } : {}),
    ...(submission.traceparent ? { traceparent: submission.traceparent } : {}),
  };
  const createdAt = step?.created_at ?? new Date(now).toISOString();
  const record = pending({ task_id: taskId, worker: kind, queue, task, args, options, ...ids }, createdAt);
  return { record, payload: { task, args, created_at: createdAt, options, ...ids } };
}
