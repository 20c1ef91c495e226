/**
 * What the task routes do, for both worker kinds: accept a task (through the kind's backend, once per
 * Idempotency-Key), read its record, cancel it, list and requeue dead letters. Cancel and requeue go
 * straight to Redis for both kinds, so they reach a task wherever it runs. Reads never write.
 */
import {
  RECORD_STATUS,
  SwitchyardError,
  isTerminal,
  requeued,
  revoked,
  parseQueueId,
  routeTask,
  type RecordReader,
  type Redis,
  type Submission,
  type TaskQueues,
  type TaskRecord,
  type TaskRoutes,
  type WorkerKind,
} from '@switchyard/shared';
import type { SubmitBackend } from '../backends/backend.js';
import type { ExecuteRequest } from '../http/schemas.js';
import type { Idempotency, IdempotentOutcome } from './idempotency.js';
import { scriptError } from './script-errors.js';

export type Cancelled = { outcome: 'revoked'; record: TaskRecord } | { outcome: 'stopping' };

export interface TaskServiceDeps {
  redis: Redis;
  reader: RecordReader;
  queues: Record<WorkerKind, TaskQueues>;
  backends: Record<WorkerKind, SubmitBackend>;
  idempotency: Idempotency;
  routes: TaskRoutes;
}

/** The seed form `{total}` is long_task(total); the queue is routed when the caller named none. */
export function toSubmission(kind: WorkerKind, routes: TaskRoutes, body: ExecuteRequest): Submission {
  const [task, args] = 'task' in body ? [body.task, body.args] : ['long_task', [body.total]];
  const submission: Submission = { task, args, queue: routeTask(routes, kind, task, body.queue) };
  if (body.options) submission.options = body.options;
  return submission;
}

export function createTaskService(deps: TaskServiceDeps) {
  const { reader, queues, backends, idempotency, routes } = deps;

  /** The record of a task of `kind`; 404 saying so when there is none, or when it is another kind's. */
  async function recordOf(kind: WorkerKind, taskId: string): Promise<TaskRecord> {
    const record = await reader.read(taskId);
    if (record === null) {
      throw new SwitchyardError(
        'task_not_found',
        `No ${kind} task with id ${taskId}: it never existed or its record expired`,
      );
    }
    if (record.worker !== kind) {
      throw new SwitchyardError(
        'task_not_found',
        `Task ${taskId} is a ${record.worker} task, not a ${kind} one: use /${record.worker}/… for it`,
      );
    }
    return record;
  }

  return {
    routes,

    async execute(
      kind: WorkerKind,
      body: ExecuteRequest,
      caller: string,
      idempotencyKey?: string,
      traceparent?: string,
    ): Promise<IdempotentOutcome> {
      const submission = toSubmission(kind, routes, body);
      // The trace is not part of the request's identity: a retry under another trace is the same request.
      return idempotency.once(kind, caller, idempotencyKey, submission, (taskId) =>
        backends[kind].submit(taskId, traceparent ? { ...submission, traceparent } : submission),
      );
    },

    collect: recordOf,

    async cancel(kind: WorkerKind, taskId: string): Promise<Cancelled> {
      const record = await recordOf(kind, taskId);
      if (isTerminal(record.state)) throw scriptError('task_finished', { taskId, record });
      const revokedRecord = revoked(record, RECORD_STATUS.cancelledWaiting);
      const outcome = await queues[kind].cancel(revokedRecord);
      if (outcome === 'ok') return { outcome: 'revoked', record: revokedRecord };
      if (outcome === 'running') return { outcome: 'stopping' };
      // It finished between our read and the script (no_such_task), or is a dead letter (task_finished).
      const now = outcome === 'no_such_task' ? await reader.read(taskId) : null;
      throw scriptError(outcome, { taskId, ...(now ? { record: now } : {}) });
    },

    /** Dead letters of one queue, or of every queue of the kind, newest first. */
    async deadLetters(
      kind: WorkerKind,
      limit: number,
      queue?: string,
    ): Promise<{ total: number; tasks: TaskRecord[] }> {
      const names = queue === undefined ? await knownQueues(deps.redis, queues[kind], kind) : [queue];
      const lists = await Promise.all(names.map((name) => queues[kind].deadLetters(name, limit)));
      const total = lists.reduce((sum, list) => sum + list.total, 0);
      const newest = lists
        .flatMap((list) => list.letters)
        .sort((a, b) => b.failedAt - a.failedAt)
        .slice(0, limit);
      const records = await Promise.all(newest.map((letter) => reader.read(letter.taskId)));
      return { total, tasks: records.filter((record): record is TaskRecord => record !== null) };
    },

    async requeueDead(kind: WorkerKind, taskId: string): Promise<void> {
      const record = await reader.read(taskId);
      const notDead = (why: string) => new SwitchyardError('task_not_found', `Task ${taskId} ${why}`);
      if (record === null || record.worker !== kind || record.state !== 'FAILURE') {
        throw notDead(`is not a dead letter of the ${kind} queues`);
      }
      const outcome = await queues[kind].requeueDead(requeued(record));
      if (outcome !== 'ok') throw scriptError(outcome, { taskId });
    },
  };
}

/** The names of every queue of `kind` that has been used. */
export async function knownQueues(redis: Redis, queues: TaskQueues, kind: WorkerKind): Promise<string[]> {
  const ids = await redis.smembers(queues.keys.queueSet);
  return ids
    .flatMap((id) => {
      const queue = parseQueueId(id);
      return queue?.kind === kind ? [queue.name] : [];
    })
    .sort();
}

export type TaskService = ReturnType<typeof createTaskService>;
