/**
 * Request and response schemas of the gateway. The gateway validates with these and builds its
 * OpenAPI document from them, so the docs cannot drift from what is enforced.
 */
import { z } from 'zod';
import { HTTP_STATUS_BY_CODE } from './errors.js';
import { TaskOptionsRequest } from './options.js';
import { TaskId, TaskRecord } from './status.js';
import { ruleOrRequired, wholeNumberBetween } from './rules.js';
import { TASK_CATALOGUE, TASK_LIMITS, type WorkerKind } from './tasks.js';

/** The seed API's body: `{"total": 30}` runs long_task(30). */
export const SeedExecuteRequest = z
  .strictObject({
    total: wholeNumberBetween(1, TASK_LIMITS.maxTotal).meta({
      description: 'How many steps long_task counts; the result is this number.',
    }),
    options: TaskOptionsRequest.optional(),
  })
  .meta({ id: 'SeedExecuteRequest', description: 'The seed API form: runs long_task(total).', example: { total: 30 } });

function namedExecuteRequest(worker: WorkerKind) {
  const entries = Object.entries(TASK_CATALOGUE[worker]);
  const names = entries.map(([name]) => name);
  const options = entries.map(([name, definition]) =>
    z.strictObject({ task: z.literal(name), args: definition.args, options: TaskOptionsRequest.optional() }).meta({
      id: `${worker === 'node' ? 'Node' : 'R'}Task_${name}`,
      description: definition.description,
      example: { task: name, args: definition.example },
    }),
  );
  const [first, ...rest] = options;
  if (!first) throw new Error(`no ${worker} tasks are registered`);
  return z.discriminatedUnion('task', [first, ...rest], {
    error: () => `must be one of: ${names.join(', ')}`,
  });
}

export const ExecuteRequestByWorker = {
  node: { seed: SeedExecuteRequest, named: namedExecuteRequest('node') },
  r: { seed: SeedExecuteRequest, named: namedExecuteRequest('r') },
} as const;

/** What the docs show for execute: either form. Validation picks the form by the presence of `task`. */
export function executeRequestDoc(worker: WorkerKind) {
  const { seed, named } = ExecuteRequestByWorker[worker];
  return z.union([seed, named]);
}

export interface TaskSubmission {
  task: string;
  args: unknown[];
  options?: TaskOptionsRequest;
}

export const ExecuteAccepted = z
  .object({ task_id: TaskId, status: z.literal('created') })
  .meta({ id: 'ExecuteAccepted', description: 'The task was accepted; poll collect with its id.' });

export const CollectQuery = z.object({ task_id: TaskId });

export const CancelRequest = z
  .strictObject({ task_id: TaskId })
  .meta({ id: 'CancelRequest', description: 'The task to cancel.' });

export const CancelAccepted = z.object({ task_id: TaskId, status: z.literal('revoking') }).meta({
  id: 'CancelAccepted',
  description: 'The task is running; its worker stops it and records REVOKED. Poll collect to see it.',
});

export const DeadLetterQuery = z.object({
  limit: z.coerce
    .number(ruleOrRequired('must be a whole number between 1 and 1000'))
    .int('must be a whole number between 1 and 1000')
    .min(1, 'must be a whole number between 1 and 1000')
    .max(1_000, 'must be a whole number between 1 and 1000')
    .default(100),
});

export const DeadLetterList = z
  .object({ total: z.number().int(), tasks: z.array(TaskRecord) })
  .meta({ id: 'DeadLetterList', description: 'Node tasks that failed every attempt, newest first.' });

export const RequeueRequest = z
  .strictObject({ task_id: TaskId })
  .meta({ id: 'RequeueRequest', description: 'The dead-lettered task to run again, with its attempts reset.' });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(HTTP_STATUS_BY_CODE) as [keyof typeof HTTP_STATUS_BY_CODE]),
      message: z.string(),
      fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'ErrorResponse', description: 'Every 4xx and 5xx answer has this shape.' });
