/**
 * Operators' view of Node tasks that failed every attempt: list them, and requeue one to run again
 * with its attempts reset.
 */
import { Router } from 'express';
import type { z } from 'zod';
import {
  DeadLetterQuery,
  RequeueRequest,
  SwitchyardError,
  nowIso,
  type NodeQueue,
  type TaskRecord,
} from '@switchyard/shared';
import type { RecordReader } from '../backends/backend.js';
import { validateBody, validateQuery } from '../http/validation.js';

export function createDeadLettersRouter(queue: NodeQueue, readRecord: RecordReader): Router {
  const router = Router();

  router.get('/', validateQuery(DeadLetterQuery), async (_req, res) => {
    const { limit } = res.locals.validated.query as z.infer<typeof DeadLetterQuery>;
    const { total, taskIds } = await queue.deadLetters(limit);
    const records = await Promise.all(taskIds.map(readRecord));
    res.json({ total, tasks: records.filter((record): record is TaskRecord => record !== null) });
  });

  router.post(
    '/requeue',
    validateBody(() => RequeueRequest),
    async (_req, res) => {
      const { task_id: taskId } = res.locals.validated.body as z.infer<typeof RequeueRequest>;
      const record = await readRecord(taskId);
      if (record === null || record.worker !== 'node') {
        throw new SwitchyardError('task_not_found', `No dead-lettered node task with id ${taskId}`);
      }
      const now = nowIso();
      const pending: TaskRecord = {
        ...record,
        state: 'PENDING',
        status: 'Requeued by an operator',
        current: 0,
        result: null,
        attempts: 0,
        started_at: null,
        updated_at: now,
        finished_at: null,
      };
      const outcome = await queue.requeueDead(pending);
      if (outcome === 'not_dead') {
        throw new SwitchyardError('task_not_found', `Task ${taskId} is not on the dead-letter list`);
      }
      if (outcome === 'expired') {
        throw new SwitchyardError('task_not_found', `Task ${taskId} can no longer run: its payload expired`);
      }
      res.status(202).json({ task_id: taskId, status: 'created' });
    },
  );

  return router;
}
