/**
 * The task status record: what collect returns and what every worker, in any language, stores under
 * `keys.task(id)` as MessagePack. Documented with an example in docs/status-record.md; the R worker is
 * checked against the byte-exact vectors in shared/contracts/status-vectors.json.
 */
import { z } from 'zod';
import { ruleOrRequired } from './rules.js';
import { WORKER_KINDS } from './tasks.js';

/**
 * PENDING → STARTED → PROGRESS → SUCCESS | FAILURE; RETRY while a failed attempt waits out its backoff
 * (then PENDING again); REVOKED when cancelled or expired before it ran.
 */
export const TASK_STATES = ['PENDING', 'STARTED', 'PROGRESS', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;
export type TaskState = (typeof TASK_STATES)[number];
/** A record in one of these states will not change again (unless an operator requeues a dead letter). */
export const TERMINAL_STATES: readonly TaskState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

const timestamp = z.iso.datetime().meta({ description: 'UTC, ISO 8601 with milliseconds.' });

export const TaskId = z.uuid(ruleOrRequired('must be a task id as returned by execute (a UUID)')).meta({
  id: 'TaskId',
  description: 'Task id (UUID) returned by execute.',
  example: '7d1c8a5e-2f43-4c1b-9a57-0d0c2b6f3e11',
});

export const TaskRecord = z
  .object({
    task_id: TaskId,
    worker: z.enum(WORKER_KINDS),
    queue: z.string().meta({ description: 'The queue the task waits in and was taken from.' }),
    priority: z.number().int().min(0).max(9).meta({ description: '0-9, 9 runs first.' }),
    workflow_id: z.uuid().nullable().meta({ description: 'The workflow this task is a step of, else null.' }),
    parent_id: z
      .uuid()
      .nullable()
      .meta({ description: 'In a workflow: the step this one follows (whose result it may receive), else null.' }),
    traceparent: z.string().nullable().meta({
      description:
        "The W3C traceparent the task was submitted with (or the gateway's, which starts a trace when there was none); workers log the task's lines with its trace id.",
    }),
    task: z.string().meta({ description: 'Task name, e.g. long_task.' }),
    args: z.array(z.unknown()).meta({ description: 'The arguments the task was submitted with.' }),
    state: z.enum(TASK_STATES),
    current: z.number().int().min(0).meta({ description: 'Steps done so far.' }),
    total: z.number().int().min(0).meta({ description: 'Steps in all (1 for single-step tasks).' }),
    status: z.string().meta({ description: 'Human-readable progress message.' }),
    result: z.unknown().meta({ description: 'The task result once SUCCESS, else null.' }),
    error: z.string().nullable().meta({ description: 'Why the task failed, once FAILURE, else null.' }),
    attempts: z.number().int().min(0).meta({ description: 'How many times a worker has started it.' }),
    max_attempts: z
      .number()
      .int()
      .min(1)
      .meta({ description: 'Attempts allowed before a failing task is given up (dead-lettered).' }),
    eta: timestamp.nullable().meta({ description: 'Not run before this time (countdown or eta), else null.' }),
    expires_at: timestamp.nullable().meta({ description: 'A task not started by then is REVOKED without running.' }),
    created_at: timestamp,
    started_at: timestamp.nullable(),
    updated_at: timestamp,
    finished_at: timestamp.nullable(),
  })
  .meta({ id: 'TaskRecord', description: 'Status of one task, as stored in Redis and returned by collect.' });

/** The record's fields in the order every writer (TypeScript and R) puts them. */
export const RECORD_FIELDS = Object.keys(TaskRecord.shape) as (keyof TaskRecord)[];

export type TaskRecord = z.infer<typeof TaskRecord>;

let lastMs = 0;
let lastIso = new Date(0).toISOString();

/** Now, ISO 8601 with milliseconds. A worker asks several times a millisecond under load: made once per millisecond. */
export function nowIso(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** How many steps a task reports: long_task counts to its `total`; every other task is one step. */
export function stepsOf(task: string, args: readonly unknown[]): number {
  return task === 'long_task' && typeof args[0] === 'number' ? args[0] : 1;
}
