/**
 * The OpenAPI document, generated from the same zod schemas that validate requests
 * (@asteasolutions/zod-to-openapi), so the docs cannot drift from what the gateway enforces.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import {
  CollectQuery,
  ErrorResponse,
  ExecuteAccepted,
  TaskRecord,
  executeRequestDoc,
  type WorkerKind,
} from '@switchyard/shared';
import { z } from 'zod';

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const errorReply = (description: string) => json(ErrorResponse, description);

const WORKER_TITLES: Record<WorkerKind, string> = { node: 'Node worker', r: 'R worker' };

function registerTaskRoutes(registry: OpenAPIRegistry, worker: WorkerKind, base: string, deprecated = false) {
  const tag = deprecated ? 'Seed API (deprecated alias of /node)' : WORKER_TITLES[worker];
  registry.registerPath({
    method: 'post',
    path: `${base}/execute`,
    tags: [tag],
    deprecated,
    summary: `Start a ${worker === 'node' ? 'Node' : 'R'} task`,
    description:
      'Either the seed form `{"total": n}` (runs long_task(n)) or `{"task": name, "args": [...]}`. ' +
      'Answers at once; poll collect with the returned task_id.',
    request: { body: { required: true, ...json(executeRequestDoc(worker), 'The task to run') } },
    responses: {
      202: json(ExecuteAccepted, 'Accepted'),
      400: errorReply('The body is not valid JSON'),
      413: errorReply('The body is too large'),
      415: errorReply('The body is not JSON'),
      422: errorReply('The body breaks the schema; `fields` names each offending field'),
      ...(worker === 'r'
        ? { 429: errorReply('The R worker runs its maximum of tasks; retry after Retry-After seconds') }
        : {}),
      503: errorReply(worker === 'r' ? 'Redis or the R service is unavailable' : 'Redis is unavailable'),
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
      '`state` is SUCCESS, `error` the reason once it is FAILURE.',
    request: { query: CollectQuery },
    responses: {
      200: json(TaskRecord, 'The task record'),
      404: errorReply('No such task, or its record expired'),
      422: errorReply('task_id is missing or not a UUID'),
      503: errorReply('Redis is unavailable'),
    },
  });
}

export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registerTaskRoutes(registry, 'node', '/node');
  registerTaskRoutes(registry, 'r', '/r');
  registerTaskRoutes(registry, 'node', '/celery', true);
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    tags: ['Operations'],
    summary: 'Liveness: the gateway process answers',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    tags: ['Operations'],
    summary: 'Readiness: Redis answers',
    responses: {
      200: json(z.object({ status: z.literal('ready') }), 'Ready'),
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
  });
}
