/**
 * One router per worker kind, mounted at /node and /r (and /celery, the seed's path, for Node):
 * execute accepts a task through the kind's backend, collect reads its record from Redis, cancel
 * revokes it.
 */
import { Router } from 'express';
import type { z } from 'zod';
import { CancelRequest, CollectQuery, ExecuteRequestByWorker, type TaskSubmission } from '@switchyard/shared';
import { idempotencyScope, taskNotFound, type TaskBackend } from '../backends/backend.js';
import { validateBody, validateHeader, validateQuery } from '../http/validation.js';
import { IdempotencyKeyHeader } from '../http/headers.js';

function hasTaskField(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'task' in body;
}

type ExecuteBody = { total: number; options?: TaskSubmission['options'] } | TaskSubmission;

/** The seed form `{total}` is long_task(total). */
function toSubmission(body: ExecuteBody): TaskSubmission {
  const submission: TaskSubmission =
    'task' in body ? { task: body.task, args: body.args } : { task: 'long_task', args: [body.total] };
  if (body.options) submission.options = body.options;
  return submission;
}

export function createTasksRouter(backend: TaskBackend): Router {
  const router = Router();
  const { seed, named } = ExecuteRequestByWorker[backend.worker];

  router.post(
    '/execute',
    validateHeader('Idempotency-Key', IdempotencyKeyHeader),
    validateBody((body) => (hasTaskField(body) ? named : seed)),
    async (_req, res) => {
      const { body, headers } = res.locals.validated;
      const key = headers?.['Idempotency-Key'] as string | undefined;
      const scope = key === undefined ? undefined : idempotencyScope(backend.worker, res.locals.caller, key);
      const { taskId, replayed } = await backend.submit(toSubmission(body as ExecuteBody), scope);
      if (replayed) res.set('Idempotent-Replayed', 'true');
      res.status(202).json({ task_id: taskId, status: 'created' });
    },
  );

  router.get('/collect', validateQuery(CollectQuery), async (_req, res) => {
    const { task_id: taskId } = res.locals.validated.query as z.infer<typeof CollectQuery>;
    const record = await backend.read(taskId);
    if (record === null || record.worker !== backend.worker) throw taskNotFound(backend.worker, taskId);
    res.json(record);
  });

  router.post(
    '/cancel',
    validateBody(() => CancelRequest),
    async (_req, res) => {
      const { task_id: taskId } = res.locals.validated.body as z.infer<typeof CancelRequest>;
      const cancelled = await backend.cancel(taskId);
      if (cancelled.outcome === 'revoked') res.json(cancelled.record);
      else res.status(202).json({ task_id: taskId, status: 'revoking' });
    },
  );

  return router;
}
