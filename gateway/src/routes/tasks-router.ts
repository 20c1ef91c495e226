/**
 * One router per worker kind, mounted at /node and /r (and /celery, the seed's path, for Node):
 * execute accepts a task through the kind's backend; collect reads its record from Redis.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import {
  CollectQuery,
  ExecuteRequestByWorker,
  SwitchyardError,
  type TaskRecord,
  type TaskSubmission,
  type WorkerKind,
} from '@switchyard/shared';
import type { z } from 'zod';
import { validateBody, validateQuery } from '../http/validation.js';

export interface TaskBackend {
  readonly worker: WorkerKind;
  /** Accepts the task under `taskId` (queues it, or hands it to the R service), or throws. */
  submit(taskId: string, submission: TaskSubmission): Promise<void>;
}

export type RecordReader = (taskId: string) => Promise<TaskRecord | null>;

function hasTaskField(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'task' in body;
}

/** The seed form `{total}` is long_task(total). */
function toSubmission(body: { total: number } | TaskSubmission): TaskSubmission {
  return 'task' in body ? { task: body.task, args: body.args } : { task: 'long_task', args: [body.total] };
}

export function createTasksRouter(backend: TaskBackend, readRecord: RecordReader): Router {
  const router = Router();
  const { seed, named } = ExecuteRequestByWorker[backend.worker];

  router.post(
    '/execute',
    validateBody((body) => (hasTaskField(body) ? named : seed)),
    async (_req, res) => {
      const taskId = randomUUID();
      await backend.submit(taskId, toSubmission(res.locals.validated.body as { total: number } | TaskSubmission));
      res.status(202).json({ task_id: taskId, status: 'created' });
    },
  );

  router.get('/collect', validateQuery(CollectQuery), async (_req, res) => {
    const { task_id: taskId } = res.locals.validated.query as z.infer<typeof CollectQuery>;
    const record = await readRecord(taskId);
    if (record === null || record.worker !== backend.worker) {
      throw new SwitchyardError(
        'task_not_found',
        `No ${backend.worker} task with id ${taskId}: it never existed or its record expired`,
      );
    }
    res.json(record);
  });

  return router;
}
