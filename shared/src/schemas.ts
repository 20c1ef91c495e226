/**
 * Request and response schemas of the gateway. The gateway validates with these and builds its
 * OpenAPI document from them, so the docs cannot drift from what is enforced.
 */
import { z } from 'zod';
import { HTTP_STATUS_BY_CODE } from './errors.js';
import { TaskId } from './status.js';
import { TASK_CATALOGUE, TASK_LIMITS, wholeNumberBetween, type WorkerKind } from './tasks.js';

/** The seed API's body: `{"total": 30}` runs long_task(30). */
export const SeedExecuteRequest = z
  .strictObject({
    total: wholeNumberBetween(1, TASK_LIMITS.maxTotal).meta({
      description: 'How many steps long_task counts; the result is this number.',
    }),
  })
  .meta({ id: 'SeedExecuteRequest', description: 'The seed API form: runs long_task(total).', example: { total: 30 } });

function namedExecuteRequest(worker: WorkerKind) {
  const entries = Object.entries(TASK_CATALOGUE[worker]);
  const names = entries.map(([name]) => name);
  const options = entries.map(([name, definition]) =>
    z.strictObject({ task: z.literal(name), args: definition.args }).meta({
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
}

export const ExecuteAccepted = z
  .object({ task_id: TaskId, status: z.literal('created') })
  .meta({ id: 'ExecuteAccepted', description: 'The task was accepted; poll collect with its id.' });

export const CollectQuery = z.object({ task_id: TaskId });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(HTTP_STATUS_BY_CODE) as [keyof typeof HTTP_STATUS_BY_CODE]),
      message: z.string(),
      fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'ErrorResponse', description: 'Every 4xx and 5xx answer has this shape.' });
