/** What a worker kind's routes need from it: accept a task, cancel one. */
import { createHash } from 'node:crypto';
import {
  SwitchyardError,
  isTerminal,
  nowIso,
  type TaskRecord,
  type TaskSubmission,
  type WorkerKind,
} from '@switchyard/shared';

export interface Submitted {
  taskId: string;
  /** True when an Idempotency-Key had been used before: nothing new was started. */
  replayed: boolean;
}

export type Cancelled = { outcome: 'revoked'; record: TaskRecord } | { outcome: 'stopping' };

export interface TaskBackend {
  readonly worker: WorkerKind;
  /** The record of one of this kind's tasks, or null. */
  read: RecordReader;
  /** Accepts a task (queues it, or hands it to the R service), or throws a SwitchyardError. */
  submit(submission: TaskSubmission, idempotencyScope?: string): Promise<Submitted>;
  /** Cancels a task: REVOKED at once if it had not started, else its worker is asked to stop it. */
  cancel(taskId: string): Promise<Cancelled>;
  /** Ids of the tasks given up as FAILURE (dead letters), newest first, and how many there are. */
  deadLetters(limit: number): Promise<{ total: number; taskIds: string[] }>;
  /** Runs a dead letter again with its attempts reset; 404 when it is not one (any more). */
  requeueDead(taskId: string): Promise<void>;
}

export type RecordReader = (taskId: string) => Promise<TaskRecord | null>;

/** The idempotency scope of a request: one worker kind, one caller, one key; a digest so any key fits. */
export function idempotencyScope(worker: WorkerKind, caller: string, key: string): string {
  return createHash('sha256').update(`${worker}\0${caller}\0${key}`).digest('hex');
}

/** The record of a task of this worker kind that can still be cancelled; 404 or 409 otherwise. */
export async function cancellableRecord(readRecord: RecordReader, worker: WorkerKind, taskId: string) {
  const record = await readRecord(taskId);
  if (record === null || record.worker !== worker) throw taskNotFound(worker, taskId);
  if (isTerminal(record.state)) throw taskFinished(record);
  return record;
}

export function revokedVersion(record: TaskRecord, status: string): TaskRecord {
  const now = nowIso();
  return { ...record, state: 'REVOKED', status, updated_at: now, finished_at: now };
}

export function taskNotFound(worker: WorkerKind, taskId: string): SwitchyardError {
  return new SwitchyardError(
    'task_not_found',
    `No ${worker} task with id ${taskId}: it never existed or its record expired`,
  );
}

export function notDeadLetter(taskId: string, why = 'is not on the dead-letter list'): SwitchyardError {
  return new SwitchyardError('task_not_found', `Task ${taskId} ${why}`);
}

export function taskFinished(record: TaskRecord): SwitchyardError {
  return new SwitchyardError('task_finished', `Task ${record.task_id} has already finished (${record.state})`);
}
