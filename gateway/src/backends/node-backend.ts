/** Node tasks: queued in Redis for the Node workers (shared's NodeQueue). */
import { randomUUID } from 'node:crypto';
import {
  NODE_TASKS,
  nowIso,
  pendingRecord,
  resolveOptions,
  stepsOf,
  type Logger,
  type NodeQueue,
  type NodeTaskName,
  type TaskRecord,
} from '@switchyard/shared';
import {
  cancellableRecord,
  notDeadLetter,
  revokedVersion,
  taskFinished,
  taskNotFound,
  type RecordReader,
  type TaskBackend,
} from './backend.js';

export function createNodeBackend(queue: NodeQueue, readRecord: RecordReader, logger: Logger): TaskBackend {
  return {
    worker: 'node',
    read: readRecord,
    async submit({ task, args, options: requested }, idempotencyScope) {
      const options = resolveOptions(NODE_TASKS[task as NodeTaskName].defaults, requested);
      const record = pendingRecord({
        task_id: randomUUID(),
        worker: 'node',
        task,
        args,
        total: stepsOf(task, args),
        max_attempts: options.max_attempts,
        expires_at: options.expires_at,
      });
      const taskId = await queue.enqueue(record, options, idempotencyScope);
      const replayed = taskId !== record.task_id;
      logger.info(replayed ? 'idempotent replay' : 'task queued', { task_id: taskId, worker: 'node', task });
      return { taskId, replayed };
    },
    deadLetters: (limit) => queue.deadLetters(limit),
    async requeueDead(taskId) {
      const record = await readRecord(taskId);
      if (record === null || record.worker !== 'node') throw notDeadLetter(taskId);
      const pending: TaskRecord = {
        ...record,
        state: 'PENDING',
        status: 'Requeued by an operator',
        current: 0,
        result: null,
        attempts: 0,
        started_at: null,
        updated_at: nowIso(),
        finished_at: null,
      };
      const outcome = await queue.requeueDead(pending);
      if (outcome === 'not_dead') throw notDeadLetter(taskId);
      if (outcome === 'expired') throw notDeadLetter(taskId, 'can no longer run: its payload expired');
      logger.info('dead letter requeued', { task_id: taskId });
    },
    async cancel(taskId) {
      const record = await cancellableRecord(readRecord, 'node', taskId);
      const revoked = revokedVersion(record, 'Cancelled before it started');
      const outcome = await queue.cancel(revoked);
      logger.info('cancel requested', { task_id: taskId, outcome });
      switch (outcome) {
        case 'revoked':
          return { outcome, record: revoked };
        case 'stopping':
          return { outcome };
        case 'finished':
          throw taskFinished({ ...record, state: 'FAILURE' });
        case 'not_pending': {
          // It finished between our read and the script.
          const now = await readRecord(taskId);
          throw now ? taskFinished(now) : taskNotFound('node', taskId);
        }
      }
    },
  };
}
