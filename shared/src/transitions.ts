/**
 * Every change of a task's status record, as a named function: the twins of the R worker's `mark_*`
 * (r-worker/R/status_record.R). Both are checked against the transition vectors of
 * shared/contracts/transition-vectors.json, so a record reads the same whichever worker wrote it.
 * Each returns a new record with its fields in RECORD_FIELDS order; `now` is an ISO timestamp.
 */
import type { TaskOptions } from './options.js';
import { RECORD_FIELDS, nowIso, stepsOf, type TaskRecord } from './status.js';
import type { WorkerKind } from './tasks.js';

export const RECORD_STATUS = {
  pending: 'Pending...',
  waitingForSteps: 'Waiting for earlier steps of its workflow',
  succeeded: 'Task completed!',
  failed: 'Task failed',
  released: 'Requeued: its worker shut down',
  requeued: 'Requeued by an operator',
  cancelledWaiting: 'Cancelled before it started',
  cancelledRunning: 'Cancelled while running',
} as const;

/** Rebuilds a record in field order (msgpack keeps key order: the bytes then match R's). */
function ordered(record: TaskRecord): TaskRecord {
  const out: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) out[field] = record[field];
  return out as TaskRecord;
}

/** Whether a record's keys are RECORD_FIELDS, in that order. */
function inFieldOrder(record: TaskRecord): boolean {
  let i = 0;
  for (const key in record) if (key !== RECORD_FIELDS[i++]) return false;
  return i === RECORD_FIELDS.length;
}

/**
 * The record with `fields` changed. A spread keeps the first object's key order and changes no
 * order for keys it has, so a record already in field order (every record a transition made) stays
 * so without the slower rebuild; a worker makes several per task.
 */
function change(record: TaskRecord, fields: Partial<TaskRecord>): TaskRecord {
  return { ...(inFieldOrder(record) ? record : ordered(record)), ...fields };
}

export interface PendingInit {
  task_id: string;
  worker: WorkerKind;
  queue: string;
  task: string;
  args: unknown[];
  options: Pick<TaskOptions, 'max_attempts' | 'expires_at' | 'priority' | 'eta'>;
  /** A workflow step: its workflow, and the step it follows. */
  workflow_id?: string | null;
  parent_id?: string | null;
  /** The W3C traceparent it was submitted with. */
  traceparent?: string | null;
}

/** The record a task starts with, written when it is accepted. */
export function pending(init: PendingInit, now = nowIso()): TaskRecord {
  // Written in field order already.
  return {
    task_id: init.task_id,
    worker: init.worker,
    queue: init.queue,
    priority: init.options.priority,
    workflow_id: init.workflow_id ?? null,
    parent_id: init.parent_id ?? null,
    traceparent: init.traceparent ?? null,
    task: init.task,
    args: init.args,
    state: 'PENDING',
    current: 0,
    total: stepsOf(init.task, init.args),
    status: RECORD_STATUS.pending,
    result: null,
    error: null,
    attempts: 0,
    max_attempts: init.options.max_attempts,
    eta: init.options.eta,
    expires_at: init.options.expires_at,
    created_at: now,
    started_at: null,
    updated_at: now,
    finished_at: null,
  };
}

/** A workflow step created before its turn: PENDING, saying it waits for the steps before it. */
export function held(record: TaskRecord): TaskRecord {
  return change(record, { status: RECORD_STATUS.waitingForSteps });
}

/** A worker began delivery number `attempts` (1 = the first): the last attempt's progress and error go. */
export function started(record: TaskRecord, attempts: number, now = nowIso()): TaskRecord {
  return change(record, {
    state: 'STARTED',
    current: 0,
    status: attempts > 1 ? `Started (attempt ${attempts})` : 'Started',
    result: null,
    error: null,
    attempts,
    started_at: now,
    updated_at: now,
  });
}

export function progress(
  record: TaskRecord,
  current: number,
  total: number,
  status: string,
  now = nowIso(),
): TaskRecord {
  return change(record, { state: 'PROGRESS', current, total, status, updated_at: now });
}

/** Attempt number `failedAttempts` threw `error`; the next one starts after `delayMs`. */
export function retrying(
  record: TaskRecord,
  error: string,
  failedAttempts: number,
  delayMs: number,
  now = nowIso(),
): TaskRecord {
  const seconds = (delayMs / 1000).toFixed(1);
  return change(record, {
    state: 'RETRY',
    status: `Attempt ${failedAttempts} of ${record.max_attempts} failed; retrying in ${seconds} s`,
    error,
    updated_at: now,
  });
}

export function succeeded(record: TaskRecord, result: unknown, now = nowIso()): TaskRecord {
  return change(record, {
    state: 'SUCCESS',
    current: record.total,
    status: RECORD_STATUS.succeeded,
    result,
    error: null,
    updated_at: now,
    finished_at: now,
  });
}

export function failed(record: TaskRecord, error: string, now = nowIso()): TaskRecord {
  return change(record, { state: 'FAILURE', status: RECORD_STATUS.failed, error, updated_at: now, finished_at: now });
}

export function revoked(record: TaskRecord, status: string, now = nowIso()): TaskRecord {
  return change(record, { state: 'REVOKED', status, error: null, updated_at: now, finished_at: now });
}

/** Its worker stopped before the task finished and handed it back to the queue (attempts kept). */
export function released(record: TaskRecord, now = nowIso()): TaskRecord {
  return change(record, { state: 'PENDING', status: RECORD_STATUS.released, updated_at: now });
}

/** An operator runs a dead letter again: a fresh start, attempts reset, created_at kept. */
export function requeued(record: TaskRecord, now = nowIso()): TaskRecord {
  return change(record, {
    state: 'PENDING',
    current: 0,
    status: RECORD_STATUS.requeued,
    result: null,
    error: null,
    attempts: 0,
    started_at: null,
    updated_at: now,
    finished_at: null,
  });
}

export const TRANSITIONS = { pending, started, progress, retrying, succeeded, failed, revoked, released, requeued };
