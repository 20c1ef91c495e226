/**
 * What the queue scripts hand a worker and take back: a task's payload as stored at enqueue, a task
 * as claimed, a finished task as acknowledged, and a queue's counts.
 */
import { readPayload } from './stored-payload.js';
import type { TaskOptions } from './options.js';
import type { TaskRecord } from './status.js';
import type { WorkerKind } from './tasks.js';

/** What a worker needs to run a task, stored in its job hash at enqueue. */
export interface TaskPayload {
  task: string;
  args: unknown[];
  created_at: string;
  options: TaskOptions;
  /** A workflow step: its workflow and the step it follows (both also in its record). */
  workflow_id?: string;
  parent_id?: string | null;
  /** The W3C traceparent it was submitted with (also in its record): its worker logs the trace id. */
  traceparent?: string | null;
}

export interface ClaimedTask {
  taskId: string;
  queue: string;
  payload: TaskPayload;
  /** Deliveries so far, this one included: 1 on first delivery, more after retries and redeliveries. */
  attempts: number;
  /** Earlier attempts that ended in an error (retries so far). */
  failures: number;
  /** Cancelled while a worker that then died was running it: record REVOKED, do not run. */
  revoked: boolean;
}

export interface QueueStats {
  /** Waiting tasks by priority, index 0 = priority 0. */
  waitingByPriority: number[];
  waiting: number;
  delayed: number;
  active: number;
  dead: number;
  paused: boolean;
  /** When the oldest waiting task was queued (ms since the epoch), or null. */
  oldestWaitingSince: number | null;
}

/** A task a worker has ended: its terminal record, and whether a FAILURE stays as a dead letter. */
export interface FinishedTask {
  record: TaskRecord;
  deadLetter: boolean;
}

/** The tasks a script took from a queue of `kind` (7 entries a task, see shared/lua/includes/claim.lua), decoded. */
export function decodeTaken(flat: readonly (Buffer | number)[], kind: WorkerKind, queue: string): ClaimedTask[] {
  const tasks: ClaimedTask[] = [];
  for (let i = 0; i + 6 < flat.length; i += 7) {
    tasks.push({
      taskId: String(flat[i]),
      queue,
      payload: readPayload(kind, flat[i + 1] as Buffer, String(flat[i + 5]), String(flat[i + 6])),
      attempts: Number(flat[i + 2]),
      failures: Number(flat[i + 3]),
      revoked: String(flat[i + 4]) === '1',
    });
  }
  return tasks;
}
