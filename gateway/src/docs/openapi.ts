/**
 * The OpenAPI document, generated from the same zod schemas that validate requests
 * (@asteasolutions/zod-to-openapi), so the docs cannot drift from what the gateway enforces.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { TaskRecord, type WorkerKind } from '@switchyard/shared';
import { z } from 'zod';
import { IdempotencyKeyHeader } from '../http/headers.js';
import { registerEventRoutes } from './openapi-events.js';
import {
  CancelAccepted,
  CanvasDoc,
  DeadLetterList,
  DeadLetterQuery,
  ErrorResponse,
  ExecuteAccepted,
  QueueInfo,
  QueueList,
  QueueParams,
  TaskIdBody,
  TaskIdQuery,
  WorkerList,
  WorkflowAccepted,
  WorkflowParams,
  WorkflowView,
  executeRequest,
} from '../http/schemas.js';

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const errorReply = (description: string) => json(ErrorResponse, description);

const WORKER_TITLES: Record<WorkerKind, string> = { node: 'Node worker', r: 'R worker' };

/** Answers every protected route may give. */
function commonErrors(authenticated: boolean, rateLimited: boolean): RouteConfig['responses'] {
  return {
    ...(authenticated ? { 401: errorReply('No API key, or not a configured one') } : {}),
    ...(rateLimited ? { 429: errorReply('Too many requests from this caller; retry after Retry-After seconds') } : {}),
  };
}

function registerTaskRoutes(
  registry: OpenAPIRegistry,
  worker: WorkerKind,
  base: string,
  common: RouteConfig['responses'],
  deprecated = false,
) {
  const tag = deprecated ? `Seed API (aliases of /${worker})` : WORKER_TITLES[worker];
  const unavailable = errorReply(worker === 'r' ? 'Redis or the R service is unavailable' : 'Redis is unavailable');
  registry.registerPath({
    method: 'post',
    path: `${base}/execute`,
    tags: [tag],
    deprecated,
    summary: `Start a ${worker === 'node' ? 'Node' : 'R'} task`,
    description:
      'Either the seed form `{"total": n}` (runs long_task(n)) or `{"task": name, "args": [...]}`, each with an ' +
      'optional `queue` (default: the route for the task in TASK_ROUTES, else `default`) and `options` (priority, ' +
      'countdown or eta, retries, backoff, time limits, expiry). Answers at once; poll collect with the returned task_id.',
    request: {
      headers: z.object({ 'Idempotency-Key': IdempotencyKeyHeader }),
      body: { required: true, ...json(executeRequest(worker), 'The task to run') },
    },
    responses: {
      202: json(
        ExecuteAccepted,
        'Accepted (or, with a repeated Idempotency-Key, the earlier task: header Idempotent-Replayed: true)',
      ),
      400: errorReply('The body is not valid JSON'),
      413: errorReply('The body is too large'),
      415: errorReply('The body is not JSON'),
      409: errorReply('The Idempotency-Key was used with a different request (or that request is still in progress)'),
      422: errorReply('The body breaks the schema; `fields` names each offending field'),
      ...common,
      429: errorReply(
        'The queue holds MAX_QUEUE_LENGTH tasks, or this caller is rate limited; retry after Retry-After seconds',
      ),
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: `${base}/collect`,
    tags: [tag],
    deprecated,
    summary: 'Status, progress and result of a task',
    description:
      'The task status record. `current`/`total`/`status` show progress, `result` holds the result once ' +
      '`state` is SUCCESS, `error` the reason once it is FAILURE (or the last failed attempt while RETRY).',
    request: { query: TaskIdQuery },
    responses: {
      200: json(TaskRecord, 'The task record'),
      404: errorReply('No such task, or its record expired'),
      422: errorReply('task_id is missing or not a UUID'),
      ...common,
      503: errorReply('Redis is unavailable'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: `${base}/cancel`,
    tags: [tag],
    deprecated,
    summary: 'Cancel a task',
    description:
      'A task that has not started (waiting, or delayed) is REVOKED at once and never runs (200, its record). ' +
      'A running one is stopped by the worker that runs it, wherever it runs, which records REVOKED ' +
      '(202 {"status": "revoking"}; poll collect).',
    request: { body: { required: true, ...json(TaskIdBody, 'The task to cancel') } },
    responses: {
      200: json(TaskRecord, 'Revoked'),
      202: json(CancelAccepted, 'Running: its worker is stopping it'),
      404: errorReply('No such task, or its record expired'),
      409: errorReply('The task has already finished'),
      422: errorReply('task_id is missing or not a UUID'),
      ...common,
      503: unavailable,
    },
  });
}

function registerDeadLetterRoutes(registry: OpenAPIRegistry, worker: WorkerKind, common: RouteConfig['responses']) {
  const title = worker === 'node' ? 'Node' : 'R';
  registry.registerPath({
    method: 'get',
    path: `/${worker}/dead-letters`,
    tags: ['Dead letters'],
    summary: `${title} tasks given up as FAILURE, newest first (of one queue with ?queue=, else of all)`,
    request: { query: DeadLetterQuery },
    responses: { 200: json(DeadLetterList, 'Newest first'), ...common, 503: errorReply('Redis is unavailable') },
  });
  registry.registerPath({
    method: 'post',
    path: `/${worker}/dead-letters/requeue`,
    tags: ['Dead letters'],
    summary: `Run a dead-lettered ${title} task again, attempts reset`,
    request: { body: { required: true, ...json(TaskIdBody, 'The task to requeue') } },
    responses: {
      202: json(ExecuteAccepted, 'Queued again (at the back of its priority in its queue); poll collect'),
      404: errorReply('Not a dead letter, or it can no longer run'),
      422: errorReply('task_id is missing or not a UUID'),
      ...common,
      503: errorReply('Redis is unavailable'),
    },
  });
}

function registerQueueRoutes(registry: OpenAPIRegistry, common: RouteConfig['responses']) {
  const unavailable = errorReply('Redis is unavailable');
  registry.registerPath({
    method: 'get',
    path: '/queues',
    tags: ['Queues and workers'],
    summary: 'Every queue of both kinds: waiting (by priority), delayed, active, dead, paused, consumers, oldest wait',
    responses: { 200: json(QueueList, 'Sorted by kind and name'), ...common, 503: unavailable },
  });
  registry.registerPath({
    method: 'get',
    path: '/queues/{kind}/{name}',
    tags: ['Queues and workers'],
    summary: 'One queue',
    request: { params: QueueParams },
    responses: {
      200: json(QueueInfo, 'The queue'),
      404: errorReply('No such queue: never used, and no worker serves it'),
      422: errorReply('kind or name is not valid'),
      ...common,
      503: unavailable,
    },
  });
  for (const action of ['pause', 'resume'] as const) {
    registry.registerPath({
      method: 'post',
      path: `/queues/{kind}/{name}/${action}`,
      tags: ['Queues and workers'],
      summary:
        action === 'pause'
          ? 'Pause a queue: workers take nothing from it; submissions are still accepted'
          : 'Resume a queue: workers take from it again',
      request: { params: QueueParams },
      responses: {
        200: json(QueueInfo, 'The queue now'),
        422: errorReply('kind or name is not valid'),
        ...common,
        503: unavailable,
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/workers',
    tags: ['Queues and workers'],
    summary: 'Every live worker of both kinds, with its queues and running tasks',
    responses: { 200: json(WorkerList, 'Oldest first'), ...common, 503: unavailable },
  });
}

function registerWorkflowRoutes(registry: OpenAPIRegistry, common: RouteConfig['responses']) {
  const unavailable = errorReply('Redis is unavailable');
  registry.registerPath({
    method: 'post',
    path: '/workflows',
    tags: ['Workflows'],
    summary: 'Start a workflow: a chain, group or chord of Node and R tasks',
    description:
      "A chain puts each node's result in front of the next node's args (a step with `pass_result: false` does not " +
      'receive it); a group runs its nodes in parallel and ends with the list of their results; a chord hands its ' +
      "header's list of results to its body. Nodes nest. Every step is checked before anything is queued (422 naming " +
      'its path, e.g. `chain.2.args.0`); a value a step receives is checked when it runs. A failed step fails the ' +
      'workflow and the steps left end REVOKED; `on_failure: "continue"` on a group or chord-header member puts ' +
      '`{error, task_id}` in its slot instead. Follow it at GET /workflows/{id}.',
    request: {
      headers: z.object({ 'Idempotency-Key': IdempotencyKeyHeader }),
      body: { required: true, ...json(CanvasDoc, 'The canvas to run') },
    },
    responses: {
      202: json(
        WorkflowAccepted,
        'Accepted (or, with a repeated Idempotency-Key, the earlier workflow: header Idempotent-Replayed: true)',
      ),
      400: errorReply('The body is not valid JSON'),
      413: errorReply('The body is too large'),
      415: errorReply('The body is not JSON'),
      409: errorReply('The Idempotency-Key was used with a different canvas (or that request is still in progress)'),
      422: errorReply('The canvas is not valid; `fields` names each problem by its path (`chain.1.args.0`, `(body)`)'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/workflows/{id}',
    tags: ['Workflows'],
    summary: 'State, progress and result of a workflow, with every step',
    description:
      '`state` PENDING, STARTED, SUCCESS, FAILURE or REVOKED; `done` of `total` steps ended; `result` once SUCCESS; ' +
      "`error` naming the step that failed or was cancelled. Each step is also a task at its kind's collect, whose " +
      'record carries `workflow_id` and `parent_id`.',
    request: { params: WorkflowParams },
    responses: {
      200: json(WorkflowView, 'The workflow'),
      404: errorReply('No such workflow, or it expired'),
      422: errorReply('id is not a UUID'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/workflows/{id}/cancel',
    tags: ['Workflows'],
    summary: 'Cancel a workflow',
    description:
      'The workflow ends REVOKED: steps not yet running end REVOKED ("Not run: the workflow was cancelled") at once, ' +
      'running ones are stopped by their workers. A workflow that has ended already is left as it is.',
    request: { params: WorkflowParams },
    responses: {
      200: json(WorkflowView, 'The workflow after the cancel (as GET /workflows/{id} shows it)'),
      404: errorReply('No such workflow, or it expired'),
      422: errorReply('id is not a UUID'),
      ...common,
      503: unavailable,
    },
  });
}

export function buildOpenApiDocument(
  { authenticated, rateLimited }: { authenticated: boolean; rateLimited: boolean } = {
    authenticated: false,
    rateLimited: false,
  },
): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const common = commonErrors(authenticated, rateLimited);
  if (authenticated) {
    registry.registerComponent('securitySchemes', 'bearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'Authorization: Bearer <one of API_KEYS>',
    });
    registry.registerComponent('securitySchemes', 'apiKey', {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
  }
  registerTaskRoutes(registry, 'node', '/node', common);
  registerTaskRoutes(registry, 'r', '/r', common);
  // /celery is an alias of /node unless CELERY_BROKER_URL points the gateway at real Celery workers.
  registerTaskRoutes(registry, 'node', '/celery', common, true);
  registerTaskRoutes(registry, 'r', '/rserve', common, true);
  registerDeadLetterRoutes(registry, 'node', common);
  registerDeadLetterRoutes(registry, 'r', common);
  registerQueueRoutes(registry, common);
  registerWorkflowRoutes(registry, common);
  registerEventRoutes(registry, common);
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['Operations'],
    summary: 'Prometheus metrics: requests, queue figures, task outcomes and run times (docs/metrics.md)',
    responses: {
      200: {
        description: 'Prometheus text format 0.0.4',
        content: { 'text/plain': { schema: z.string() } },
      },
      ...common,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    tags: ['Operations'],
    summary: 'Liveness: the gateway process answers (no API key needed)',
    security: [],
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    tags: ['Operations'],
    summary: 'Readiness: Redis answers (no API key needed); also how many workers of each kind are alive',
    description:
      'Ready depends on Redis only: with no worker the gateway still accepts tasks, which wait in their queue.',
    security: [],
    responses: {
      200: json(
        z.object({
          status: z.literal('ready'),
          workers: z.object({ node: z.number().int(), r: z.number().int() }),
        }),
        'Ready',
      ),
      503: errorReply('Redis is unavailable'),
    },
  });
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Switchyard',
      version: '0.1.0',
      description:
        'One REST gateway in front of Node and R workers: start long jobs, watch their progress, collect results.',
    },
    ...(authenticated ? { security: [{ bearer: [] }, { apiKey: [] }] } : {}),
  });
}
