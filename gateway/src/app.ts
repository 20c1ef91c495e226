/**
 * Builds the Express app from its dependencies; no ports, no process wiring (see main.ts), so tests
 * run it in-process.
 */
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import {
  NodeQueue,
  SwitchyardError,
  pendingRecord,
  readTaskRecord,
  stepsOf,
  type KeyLayout,
  type Logger,
  type Redis,
} from '@switchyard/shared';
import { buildOpenApiDocument } from './docs/openapi.js';
import { errorHandler } from './http/errors.js';
import type { RServiceClient } from './r-service/client.js';
import { createHealthRouter } from './routes/health-router.js';
import { createTasksRouter, type TaskBackend } from './routes/tasks-router.js';

export interface AppDeps {
  redis: Redis;
  keys: KeyLayout;
  resultTtlSeconds: number;
  rService: Pick<RServiceClient, 'submit'>;
  logger: Logger;
  bodyLimitBytes: number;
}

export function createApp(deps: AppDeps): Express {
  const { redis, keys, logger } = deps;
  const queue = new NodeQueue(redis, keys, deps.resultTtlSeconds);
  const readRecord = (taskId: string) => readTaskRecord(redis, keys, taskId);

  const nodeBackend: TaskBackend = {
    worker: 'node',
    submit: async (taskId, { task, args }) => {
      await queue.enqueue(pendingRecord({ task_id: taskId, worker: 'node', task, args, total: stepsOf(task, args) }));
      logger.info('task queued', { task_id: taskId, worker: 'node', task });
    },
  };
  const rBackend: TaskBackend = {
    worker: 'r',
    submit: async (taskId, submission) => {
      await deps.rService.submit(taskId, submission);
      logger.info('task handed to the R service', { task_id: taskId, worker: 'r', task: submission.task });
    },
  };

  const openApiDocument = buildOpenApiDocument();
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: deps.bodyLimitBytes, strict: false }));

  app.use(createHealthRouter(() => redis.ping()));
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openApiDocument));
  app.use('/node', createTasksRouter(nodeBackend, readRecord));
  app.use('/r', createTasksRouter(rBackend, readRecord));
  app.use('/celery', createTasksRouter(nodeBackend, readRecord));

  app.use((req, _res, next) => {
    next(new SwitchyardError('route_not_found', `No route ${req.method} ${req.path}; see /docs`));
  });
  app.use(errorHandler(logger));
  return app;
}
