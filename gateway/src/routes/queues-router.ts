/**
 * Queues and workers of both kinds: GET /queues, GET /queues/{kind}/{name}, POST …/pause and
 * …/resume (workers stop or start taking from the queue; submissions go on), GET /workers.
 */
import { Router } from 'express';
import { QueueParams } from '../http/schemas.js';
import { validated } from '../http/validation.js';
import type { QueueService } from '../services/queue-service.js';

export function createQueuesRouter(queueService: QueueService): Router {
  const router = Router();

  router.get(
    '/queues',
    validated({}, async (_input, _req, res) => {
      res.json({ queues: await queueService.list() });
    }),
  );

  router.get(
    '/queues/:kind/:name',
    validated({ params: QueueParams }, async ({ params }, _req, res) => {
      res.json(await queueService.one(params.kind, params.name));
    }),
  );

  for (const action of ['pause', 'resume'] as const) {
    router.post(
      `/queues/:kind/:name/${action}`,
      validated({ params: QueueParams }, async ({ params }, _req, res) => {
        res.json(await queueService.setPaused(params.kind, params.name, action === 'pause'));
      }),
    );
  }

  router.get(
    '/workers',
    validated({}, async (_input, _req, res) => {
      res.json({ workers: await queueService.workers() });
    }),
  );

  return router;
}
