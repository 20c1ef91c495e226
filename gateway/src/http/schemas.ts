/**
 * Request and response schemas of the gateway's HTTP API. The gateway validates with these and
 * builds its OpenAPI document from them, so the docs cannot drift from what is enforced. What every
 * language shares (the status record, task arguments, options) lives in @switchyard/shared.
 */
import {
  CANVAS_LIMITS,
  HTTP_STATUS_BY_CODE,
  QUEUE_NAME_PATTERN,
  QUEUE_NAME_RULE,
  TASK_CATALOGUE,
  TASK_LIMITS,
  TaskId,
  TaskOptionsRequest,
  TaskRecord,
  WORKER_KINDS,
  ruleOrRequired,
  wholeNumberBetween,
  type WorkerKind,
} from '@switchyard/shared';
import { z } from 'zod';

export const QueueName = z
  .string(ruleOrRequired(QUEUE_NAME_RULE))
  .regex(QUEUE_NAME_PATTERN, QUEUE_NAME_RULE)
  .meta({ description: 'A queue name: 1-64 letters, digits, `-`, `_` or `.`.', example: 'cpu' });

const queueField = QueueName.optional().meta({
  description: 'The queue to put the task in. Default: the route for its task name (TASK_ROUTES), else `default`.',
});

/** The seed API's body: `{"total": 30}` runs long_task(30). */
export const SeedExecuteRequest = z
  .strictObject({
    total: wholeNumberBetween(1, TASK_LIMITS.maxTotal).meta({
      description: 'How many steps long_task counts; the result is this number.',
    }),
    queue: queueField,
    options: TaskOptionsRequest.optional(),
  })
  .meta({ id: 'SeedExecuteRequest', description: 'The seed API form: runs long_task(total).', example: { total: 30 } });

const KIND_TITLE: Record<WorkerKind, string> = { node: 'Node', r: 'R' };

function namedExecuteRequest(kind: WorkerKind) {
  const entries = Object.entries(TASK_CATALOGUE[kind]);
  const names = entries.map(([name]) => name);
  const forms = entries.map(([name, definition]) =>
    z
      .strictObject({
        task: z.literal(name),
        args: definition.args,
        queue: queueField,
        options: TaskOptionsRequest.optional(),
      })
      .meta({
        id: `${KIND_TITLE[kind]}Task_${name}`,
        description: definition.description,
        example: { task: name, args: definition.example },
      }),
  );
  const [first, ...rest] = forms;
  if (!first) throw new Error(`no ${kind} tasks are registered`);
  return z.discriminatedUnion('task', [first, ...rest], { error: () => `must be one of: ${names.join(', ')}` });
}

export const ExecuteRequestByKind = {
  node: { seed: SeedExecuteRequest, named: namedExecuteRequest('node') },
  r: { seed: SeedExecuteRequest, named: namedExecuteRequest('r') },
} as const;

/** Either form of execute; validation picks the form by the presence of `task`. */
export function executeRequest(kind: WorkerKind) {
  const { seed, named } = ExecuteRequestByKind[kind];
  return z.union([seed, named]);
}
export type ExecuteRequest = z.infer<ReturnType<typeof executeRequest>>;

export const ExecuteAccepted = z
  .object({ task_id: TaskId, status: z.literal('created') })
  .meta({ id: 'ExecuteAccepted', description: 'The task was accepted; poll collect with its id.' });

export const TaskIdQuery = z.object({ task_id: TaskId });

export const TaskIdBody = z.strictObject({ task_id: TaskId }).meta({ id: 'TaskIdBody', description: 'A task id.' });

export const CancelAccepted = z.object({ task_id: TaskId, status: z.literal('revoking') }).meta({
  id: 'CancelAccepted',
  description: 'The task is running; its worker stops it and records REVOKED. Poll collect to see it.',
});

const limitRule = 'must be a whole number between 1 and 1000';
export const DeadLetterQuery = z.object({
  limit: z.coerce.number(ruleOrRequired(limitRule)).int(limitRule).min(1, limitRule).max(1_000, limitRule).default(100),
  queue: QueueName.optional().meta({ description: 'Only this queue. Default: every queue of the kind.' }),
});

export const DeadLetterList = z
  .object({ total: z.number().int(), tasks: z.array(TaskRecord) })
  .meta({ id: 'DeadLetterList', description: 'Tasks that failed every attempt, newest first.' });

export const QueueParams = z.object({
  kind: z.enum(WORKER_KINDS, { error: `must be one of: ${WORKER_KINDS.join(', ')}` }),
  name: QueueName,
});

export const QueueInfo = z
  .object({
    kind: z.enum(WORKER_KINDS),
    name: z.string(),
    waiting: z.number().int().meta({ description: 'Tasks waiting for a worker.' }),
    waiting_by_priority: z
      .record(z.string(), z.number().int())
      .meta({ description: 'Waiting tasks per priority ("0" … "9"), only priorities that have any.' }),
    delayed: z.number().int().meta({ description: 'Tasks waiting for a time: countdown, eta or a retry backoff.' }),
    active: z.number().int().meta({ description: 'Tasks a worker holds now.' }),
    dead: z.number().int().meta({ description: 'Dead letters: tasks that failed every attempt.' }),
    paused: z.boolean(),
    consumers: z.number().int().meta({ description: 'Live workers taking from this queue.' }),
    throughput: z
      .array(
        z.object({
          minute: z.string().meta({ description: 'The minute (its start, ISO 8601).' }),
          succeeded: z.number().int(),
          failed: z.number().int().meta({ description: 'Tasks given up as FAILURE (retries are not counted).' }),
        }),
      )
      .meta({ description: 'Tasks that ended in each of the last 15 minutes, oldest first, this minute last.' }),
    oldest_waiting_age_ms: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'How long the oldest waiting task has waited, or null.' }),
  })
  .meta({ id: 'QueueInfo' });

export const QueueList = z.object({ queues: z.array(QueueInfo) }).meta({ id: 'QueueList' });

export const WorkerInfo = z
  .object({
    id: z.string(),
    kind: z.enum(WORKER_KINDS),
    host: z.string(),
    pid: z.number().int(),
    queues: z.array(z.string()),
    concurrency: z.number().int(),
    running: z.array(z.string()).meta({ description: 'Ids of the tasks it runs now.' }),
    started_at: z.string(),
    heartbeat_at: z.string(),
  })
  .meta({ id: 'WorkerInfo' });

export const WorkerList = z.object({ workers: z.array(WorkerInfo) }).meta({ id: 'WorkerList' });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(HTTP_STATUS_BY_CODE) as [keyof typeof HTTP_STATUS_BY_CODE]),
      message: z.string(),
      fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'ErrorResponse', description: 'Every 4xx and 5xx answer has this shape.' });

export const WorkflowAccepted = z
  .object({ workflow_id: TaskId, status: z.literal('created') })
  .meta({ id: 'WorkflowAccepted', description: 'The workflow was accepted; follow it at GET /workflows/{id}.' });

export const WorkflowParams = z.object({
  id: z.uuid(ruleOrRequired('must be a workflow id as returned by POST /workflows (a UUID)')),
});

const WORKFLOW_STATES = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;

export const WorkflowStepView = z
  .object({
    path: z.string().meta({ description: 'Where the step is in the canvas, e.g. `chain.1` or `chord.header.0`.' }),
    task_id: TaskId,
    worker: z.enum(WORKER_KINDS),
    task: z.string(),
    queue: z.string(),
    state: z.string().meta({ description: "The step's task state (its record: collect it at its kind's collect)." }),
    current: z.number().int(),
    total: z.number().int(),
    error: z.string().nullable(),
  })
  .meta({ id: 'WorkflowStep' });

export const WorkflowView = z
  .object({
    workflow_id: TaskId,
    state: z.enum(WORKFLOW_STATES),
    done: z.number().int().meta({ description: 'Steps that have ended (SUCCESS, FAILURE or REVOKED).' }),
    total: z.number().int().meta({ description: 'Steps in all.' }),
    result: z.unknown().meta({ description: "The result of the workflow's last node once SUCCESS, else null." }),
    error: z
      .string()
      .nullable()
      .meta({ description: 'Which step failed (or that it was cancelled), once it ended so.' }),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
    steps: z.array(WorkflowStepView),
  })
  .meta({ id: 'Workflow' });

/** For the docs only: the canvas is checked by parseCanvas, which names each problem by its path. */
export const CanvasDoc = z
  .object({
    chain: z.array(z.unknown()).optional(),
    group: z.array(z.unknown()).optional(),
    chord: z.object({ header: z.array(z.unknown()), body: z.unknown() }).optional(),
  })
  .meta({
    id: 'Canvas',
    description:
      "Exactly one of `chain` (each result goes in front of the next node's args), `group` (run in parallel; " +
      'the result is the list of results) or `chord` (`header` a group whose list of results goes to `body`). ' +
      'Members are steps `{"worker": "node"|"r", "task", "args"?, "queue"?, "options"?, "pass_result"?, "on_failure"?}` ' +
      `or nested chains, groups and chords; at most ${CANVAS_LIMITS.maxSteps} steps, ${CANVAS_LIMITS.maxDepth} levels deep.`,
    example: {
      chain: [
        { worker: 'node', task: 'make_dataset', args: [50, 2, 1] },
        { worker: 'r', task: 'lm_fit' },
        { worker: 'node', task: 'fit_report' },
      ],
    },
  });
