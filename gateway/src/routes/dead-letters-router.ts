/**
 * Operators' view of the tasks of one worker kind that were given up (FAILURE): list them, newest
 * first, of one queue or all, and requeue one to run again with its attempts reset.
 */
import { Router } from 'express';
import type { WorkerKind } from '@switchyard/shared';
import { DeadLetterQuery, TaskIdBody } from '../http/schemas.js';
import { validated } from '../http/validation.js';
import type { TaskService } from '../services/task-service.js';

export function createDeadLettersRouter(kind: WorkerKind, tasks: TaskService): Router {
  const router = Router();

  router.get(
    '/',
    validated({ query: DeadLetterQuery }, async ({ query }, _req, res) => {
      res.json(await tasks.deadLetters(kind, query.limit, query.queue));
    }),
  );

  router.post(
    '/requeue',
    validated({ body: TaskIdBody }, async ({ body }, _req, res) => {
      await tasks.requeueDead(kind, body.task_id);
      res.status(202).json({ task_id: body.task_id, status: 'created' });
    }),
  );

  return router;
}
