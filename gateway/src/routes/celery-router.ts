/**
 * /celery with CELERY_BROKER_URL set: the seed's paths in front of real Python Celery workers.
 * execute publishes the task to a Celery queue (the request's `queue`, else `celery`); collect reads
 * Celery's result backend. The seed's body `{"total": n}` runs the Celery task `long_task(n)`.
 */
import { Router } from 'express';
import { SwitchyardError, TASK_LIMITS, wholeNumberBetween } from '@switchyard/shared';
import { z } from 'zod';
import type { CeleryBroker } from '../celery/celery-broker.js';
import { QueueName, TaskIdQuery } from '../http/schemas.js';
import { pickSchema, validated } from '../http/validation.js';

const CELERY_DEFAULT_QUEUE = 'celery';

const SeedCeleryRequest = z.strictObject({
  total: wholeNumberBetween(1, TASK_LIMITS.maxTotal),
  queue: QueueName.optional(),
});

const NamedCeleryRequest = z.strictObject({
  task: z
    .string({ error: 'must be a Celery task name' })
    .regex(/^[A-Za-z_][A-Za-z0-9_.]{0,199}$/, 'must be a Celery task name (letters, digits, _ and .)'),
  args: z.array(z.unknown(), { error: 'must be an array' }).default([]),
  kwargs: z.record(z.string(), z.unknown(), { error: 'must be an object' }).default({}),
  queue: QueueName.optional(),
});

const CeleryExecute = z.union([SeedCeleryRequest, NamedCeleryRequest]);

export function createCeleryRouter(broker: CeleryBroker, newId: () => string): Router {
  const router = Router();
  const body = pickSchema(CeleryExecute, (input) =>
    typeof input === 'object' && input !== null && 'task' in input ? NamedCeleryRequest : SeedCeleryRequest,
  );

  router.post(
    '/execute',
    validated({ body }, async (input, _req, res) => {
      const request = input.body;
      const taskId = newId();
      const queue = request.queue ?? CELERY_DEFAULT_QUEUE;
      if ('task' in request)
        await broker.publish(taskId, { task: request.task, args: request.args, kwargs: request.kwargs, queue });
      else await broker.publish(taskId, { task: 'long_task', args: [request.total], queue });
      res.status(202).json({ task_id: taskId, status: 'created' });
    }),
  );

  router.get(
    '/collect',
    validated({ query: TaskIdQuery }, async ({ query }, _req, res) => {
      res.json(await broker.collect(query.task_id));
    }),
  );

  router.post('/cancel', (_req, _res, next) => {
    next(
      new SwitchyardError(
        'not_supported',
        'Cancelling a Celery task is not supported through Switchyard; use Celery (app.control.revoke)',
      ),
    );
  });

  return router;
}
