/**
 * Operators' view of the tasks of one worker kind that were given up (FAILURE): list them, newest
 * first, and requeue one to run again with its attempts reset.
 */
import { Router } from 'express';
import type { z } from 'zod';
import { DeadLetterQuery, RequeueRequest, type TaskRecord } from '@switchyard/shared';
import type { TaskBackend } from '../backends/backend.js';
import { validateBody, validateQuery } from '../http/validation.js';

export function createDeadLettersRouter(backend: TaskBackend): Router {
  const router = Router();

  router.get('/', validateQuery(DeadLetterQuery), async (_req, res) => {
    const { limit } = res.locals.validated.query as z.infer<typeof DeadLetterQuery>;
    const { total, taskIds } = await backend.deadLetters(limit);
    const records = await Promise.all(taskIds.map(backend.read));
    res.json({ total, tasks: records.filter((record): record is TaskRecord => record !== null) });
  });

  router.post(
    '/requeue',
    validateBody(() => RequeueRequest),
    async (_req, res) => {
      const { task_id: taskId } = res.locals.validated.body as z.infer<typeof RequeueRequest>;
      await backend.requeueDead(taskId);
      res.status(202).json({ task_id: taskId, status: 'created' });
    },
  );

  return router;
}
