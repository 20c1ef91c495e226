/**
 * One router per worker kind, mounted at /node and /r (and /celery, the seed's path, for Node):
 * execute accepts a task, collect reads its record, cancel revokes it.
 */
import { Router } from 'express';
import { acceptTraceparent, newTraceparent, type WorkerKind } from '@switchyard/shared';
import { IdempotencyKeyHeader } from '../http/headers.js';
import { ExecuteRequestByKind, TaskIdBody, TaskIdQuery, executeRequest } from '../http/schemas.js';
import { pickSchema, validated } from '../http/validation.js';
import type { TaskService } from '../services/task-service.js';

function hasTaskField(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'task' in body;
}

export function createTasksRouter(kind: WorkerKind, tasks: TaskService): Router {
  const router = Router();
  const { seed, named } = ExecuteRequestByKind[kind];
  const body = pickSchema(executeRequest(kind), (input) => (hasTaskField(input) ? named : seed));

  router.post(
    '/execute',
    validated({ headers: { 'Idempotency-Key': IdempotencyKeyHeader }, body }, async (input, req, res) => {
      const key = input.headers['Idempotency-Key'];
      const traceparent = acceptTraceparent(req.get('traceparent')) ?? newTraceparent();
      const { taskId, replayed } = await tasks.execute(kind, input.body, res.locals.caller, key, traceparent);
      if (replayed) res.set('Idempotent-Replayed', 'true');
      else res.set('traceparent', traceparent);
      res.status(202).json({ task_id: taskId, status: 'created' });
    }),
  );

  router.get(
    '/collect',
    validated({ query: TaskIdQuery }, async ({ query }, _req, res) => {
      res.json(await tasks.collect(kind, query.task_id));
    }),
  );

  router.post(
    '/cancel',
    validated({ body: TaskIdBody }, async ({ body }, _req, res) => {
      const cancelled = await tasks.cancel(kind, body.task_id);
      if (cancelled.outcome === 'revoked') res.json(cancelled.record);
      else res.status(202).json({ task_id: body.task_id, status: 'revoking' });
    }),
  );

  return router;
}
