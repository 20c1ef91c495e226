/**
 * Builds the Express app from its dependencies; no ports, no process wiring (see main.ts), so tests
 * run it in-process.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import {
  NO_ROUTES,
  SwitchyardError,
  TaskQueues,
  WorkflowAdvancer,
  WorkflowStore,
  createRecordReader,
  type KeyLayout,
  type Logger,
  type Redis,
  type TaskRoutes,
} from '@switchyard/shared';
import { createNodeBackend } from './backends/node-backend.js';
import { createRBackend } from './backends/r-backend.js';
import { buildOpenApiDocument } from './docs/openapi.js';
import { authenticate } from './http/auth.js';
import { errorHandler } from './http/errors.js';
import { rateLimitPerCaller } from './http/rate-limit.js';
import { createGatewayMetrics } from './metrics/gateway-metrics.js';
import { openApiPathMatcher } from './metrics/route-label.js';
import type { RServiceClient } from './r-service/client.js';
import { createDeadLettersRouter } from './routes/dead-letters-router.js';
import { createHealthRouter } from './routes/health-router.js';
import { createQueuesRouter } from './routes/queues-router.js';
import { createTasksRouter } from './routes/tasks-router.js';
import { createCeleryRouter } from './routes/celery-router.js';
import type { CeleryBroker } from './celery/celery-broker.js';
import { createWorkflowsRouter } from './routes/workflows-router.js';
import { createEventsRouter } from './routes/events-router.js';
import { createLiveEvents } from './events/live-events.js';
import type { EventStream } from './events/sse.js';
import { StreamHub } from './events/stream-hub.js';
import { createTaskLists } from './services/task-lists.js';
import { createUiRouter, type UiOptions } from './routes/ui-router.js';
import { createIdempotency } from './services/idempotency.js';
import { createQueueService } from './services/queue-service.js';
import { createTaskService } from './services/task-service.js';
import { createWorkflowService } from './services/workflow-service.js';

export interface AppDeps {
  redis: Redis;
  keys: KeyLayout;
  resultTtlSeconds: number;
  rService: Pick<RServiceClient, 'submit'>;
  logger: Logger;
  bodyLimitBytes: number;
  /** Empty: no authentication. */
  apiKeys?: readonly string[];
  /** /docs and /openapi.json open without a key (default true). */
  docsPublic?: boolean;
  /** GET /metrics open without an API key (METRICS_PUBLIC; default false). */
  metricsPublic?: boolean;
  /** Longest a scrape of /metrics waits for Redis (METRICS_READ_TIMEOUT_MS; default 5000). */
  metricsReadTimeoutMs?: number;
  /** Requests per caller per minute on the task routes; 0 = no limit (default 0). */
  rateLimitPerMinute?: number;
  /** Queue by task name (TASK_ROUTES); default none. */
  taskRoutes?: TaskRoutes;
  /** Most tasks one Node queue may hold (MAX_QUEUE_LENGTH); 0 = no bound (default). */
  maxQueueLength?: number;
  /** Moves workflows on; main.ts also starts its loop. Default: one made here (no loop). */
  advancer?: WorkflowAdvancer;
  /** Reads the event streams for live events; main.ts closes it at shutdown. Default: one made here. */
  hub?: StreamHub;
  /** Open live-event streams; main.ts ends them at shutdown. Default: a set made here. */
  eventStreams?: Set<EventStream>;
  /** With CELERY_BROKER_URL: /celery reaches real Celery workers. Without: /celery is an alias of /node. */
  celeryBroker?: CeleryBroker;
  /** The dashboard at /ui: UI_DIR and UI_READ_ONLY (default: dashboard/dist, actions shown). */
  ui?: Omit<UiOptions, 'apiKeyRequired'>;
}

const ALWAYS_OPEN = new Set(['/healthz', '/readyz']);
const DOCS_PATHS = /^\/(docs(\/.*)?|openapi\.json)$/;

export function createApp(deps: AppDeps): Express {
  const { redis, keys, logger } = deps;
  const queues = {
    node: new TaskQueues(redis, keys, 'node', deps.resultTtlSeconds),
    r: new TaskQueues(redis, keys, 'r', deps.resultTtlSeconds),
  };
  const reader = createRecordReader(redis, keys);
  const idempotency = createIdempotency(redis, keys, reader, deps.resultTtlSeconds);
  const workflowStore = new WorkflowStore(redis, keys, deps.resultTtlSeconds);
  const advancer = deps.advancer ?? new WorkflowAdvancer({ redis, queues, store: workflowStore, logger });
  const tasks = createTaskService({
    redis,
    reader,
    queues,
    backends: {
      node: createNodeBackend(queues.node, deps.maxQueueLength ?? 0),
      r: createRBackend({ rService: deps.rService, redis, keys, queues: queues.r, reader, logger }),
    },
    idempotency,
    routes: deps.taskRoutes ?? NO_ROUTES,
  });
  const workflows = createWorkflowService({
    store: workflowStore,
    advancer,
    reader,
    idempotency,
    routes: deps.taskRoutes ?? NO_ROUTES,
  });
  const apiKeys = deps.apiKeys ?? [];
  const docsPublic = deps.docsPublic ?? true;
  const metricsPublic = deps.metricsPublic ?? false;
  const queueService = createQueueService(redis, keys, queues);
  const isOpenPath = (path: string) =>
    ALWAYS_OPEN.has(path) || (docsPublic && DOCS_PATHS.test(path)) || (metricsPublic && path === '/metrics');

  const openApiDocument = buildOpenApiDocument({
    authenticated: apiKeys.length > 0,
    rateLimited: (deps.rateLimitPerMinute ?? 0) > 0,
  });
  const matchPath = openApiPathMatcher(openApiDocument);
  const metrics = createGatewayMetrics({
    redis,
    keys,
    queues: queueService,
    matchPath,
    readTimeoutMs: deps.metricsReadTimeoutMs ?? 5_000,
    logger,
  });
  const app = express();
  app.disable('x-powered-by');
  // No ETag on API answers: nothing sends If-None-Match to them, and hashing every body cost a SHA-1
  // per request (bench/README.md, the gateway profile). The dashboard's files keep theirs (serve-static).
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(metrics.countRequests); // first: every request is counted, whoever answers it

  app.use('/ui', createUiRouter({ ...deps.ui, apiKeyRequired: apiKeys.length > 0 })); // before auth: it asks for the key
  app.use(authenticate(apiKeys, isOpenPath));
  app.use(express.json({ limit: deps.bodyLimitBytes, strict: false }));
  app.use(createHealthRouter({ redis, keys }));
  app.get('/metrics', metrics.serve);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openApiDocument));

  const api = express.Router();
  if ((deps.rateLimitPerMinute ?? 0) > 0) {
    api.use(rateLimitPerCaller(redis, keys.rateLimitPrefix, deps.rateLimitPerMinute ?? 0));
  }
  api.use('/node/dead-letters', createDeadLettersRouter('node', tasks));
  api.use('/r/dead-letters', createDeadLettersRouter('r', tasks));
  api.use('/node', createTasksRouter('node', tasks));
  api.use('/r', createTasksRouter('r', tasks));
  api.use(
    '/celery',
    deps.celeryBroker ? createCeleryRouter(deps.celeryBroker, randomUUID) : createTasksRouter('node', tasks),
  );
  api.use('/rserve', createTasksRouter('r', tasks)); // the seed's R paths
  api.use(createQueuesRouter(queueService));
  const live = createLiveEvents({
    redis,
    keys,
    reader,
    hub: deps.hub ?? new StreamHub(redis, logger),
    store: workflowStore,
    workflowView: workflows.view,
  });
  const open = deps.eventStreams ?? new Set<EventStream>();
  api.use(createEventsRouter({ live, lists: createTaskLists(redis, keys), reader, workflows, open }));
  api.use(createWorkflowsRouter(workflows));
  app.use(api);

  const methodsOf = (path: string) => matchPath(path)?.methods ?? [];
  app.use((req, res, next) => {
    const allowed = methodsOf(req.path);
    if (allowed.length > 0) {
      res.set('Allow', allowed.join(', '));
      return next(
        new SwitchyardError(
          'method_not_allowed',
          `${req.path} answers ${allowed.join(', ')}, not ${req.method}; see /docs`,
        ),
      );
    }
    next(new SwitchyardError('route_not_found', `No route ${req.method} ${req.path}; see /docs`));
  });
  app.use(errorHandler(logger));
  return app;
}
