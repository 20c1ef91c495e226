/**
 * Builds the Express app from its dependencies; no ports, no process wiring (see main.ts), so tests
 * run it in-process.
 */
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import {
  NodeQueue,
  SwitchyardError,
  readTaskRecord,
  type KeyLayout,
  type Logger,
  type Redis,
} from '@switchyard/shared';
import { createNodeBackend } from './backends/node-backend.js';
import { createRBackend } from './backends/r-backend.js';
import { buildOpenApiDocument } from './docs/openapi.js';
import { authenticate } from './http/auth.js';
import { errorHandler } from './http/errors.js';
import { rateLimitPerCaller } from './http/rate-limit.js';
import type { RServiceClient } from './r-service/client.js';
import { createDeadLettersRouter } from './routes/dead-letters-router.js';
import { createHealthRouter } from './routes/health-router.js';
import { createTasksRouter } from './routes/tasks-router.js';

export interface AppDeps {
  redis: Redis;
  keys: KeyLayout;
  resultTtlSeconds: number;
  rService: Pick<RServiceClient, 'submit' | 'cancel' | 'requeue'>;
  logger: Logger;
  bodyLimitBytes: number;
  /** Empty: no authentication. */
  apiKeys?: readonly string[];
  /** /docs and /openapi.json open without a key (default true). */
  docsPublic?: boolean;
  /** Requests per caller per minute on the task routes; 0 = no limit (default 0). */
  rateLimitPerMinute?: number;
}

const ALWAYS_OPEN = new Set(['/healthz', '/readyz']);
const DOCS_PATHS = /^\/(docs(\/.*)?|openapi\.json)$/;

export function createApp(deps: AppDeps): Express {
  const { redis, keys, logger } = deps;
  const queue = new NodeQueue(redis, keys, deps.resultTtlSeconds);
  const readRecord = (taskId: string) => readTaskRecord(redis, keys, taskId);
  const nodeBackend = createNodeBackend(queue, readRecord, logger);
  const rBackend = createRBackend(deps);
  const apiKeys = deps.apiKeys ?? [];
  const docsPublic = deps.docsPublic ?? true;

  const openApiDocument = buildOpenApiDocument({
    authenticated: apiKeys.length > 0,
    rateLimited: (deps.rateLimitPerMinute ?? 0) > 0,
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(authenticate(apiKeys, (path) => ALWAYS_OPEN.has(path) || (docsPublic && DOCS_PATHS.test(path))));
  app.use(express.json({ limit: deps.bodyLimitBytes, strict: false }));
  app.use(createHealthRouter(() => redis.ping()));
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openApiDocument));

  const tasks = express.Router();
  if ((deps.rateLimitPerMinute ?? 0) > 0) {
    tasks.use(rateLimitPerCaller(redis, keys.rateLimitPrefix, deps.rateLimitPerMinute ?? 0));
  }
  tasks.use('/node/dead-letters', createDeadLettersRouter(nodeBackend));
  tasks.use('/r/dead-letters', createDeadLettersRouter(rBackend));
  tasks.use('/node', createTasksRouter(nodeBackend));
  tasks.use('/r', createTasksRouter(rBackend));
  tasks.use('/celery', createTasksRouter(nodeBackend));
  app.use(tasks);

  app.use((req, _res, next) => {
    next(new SwitchyardError('route_not_found', `No route ${req.method} ${req.path}; see /docs`));
  });
  app.use(errorHandler(logger));
  return app;
}
