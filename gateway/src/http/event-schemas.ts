/**
 * Schemas of the live-event routes and the task and workflow lists (beside schemas.ts, which holds
 * the task, queue and workflow routes'): validated with these, documented from them.
 */
import { TASK_STATES, TaskId, TaskRecord, WORKER_KINDS, ruleOrRequired } from '@switchyard/shared';
import { z } from 'zod';
import { QueueName } from './schemas.js';

export const TaskParams = z.object({ id: TaskId });

const kindField = z
  .enum(WORKER_KINDS, { error: `must be one of: ${WORKER_KINDS.join(', ')}` })
  .optional()
  .meta({ description: 'Only this worker kind. Default: both.' });
const queueFilter = QueueName.optional().meta({ description: 'Only queues of this name. Default: every queue.' });
const limitRule = 'must be a whole number between 1 and 1000';
const limitField = z.coerce
  .number(ruleOrRequired(limitRule))
  .int(limitRule)
  .min(1, limitRule)
  .max(1_000, limitRule)
  .default(100);

export const EventsQuery = z.object({ kind: kindField, queue: queueFilter });

export const RunningTasksQuery = z.object({ kind: kindField, queue: queueFilter, limit: limitField });

export const RecentTasksQuery = z.object({
  kind: kindField,
  queue: queueFilter,
  limit: limitField,
  state: z
    .enum(TASK_STATES, { error: `must be one of: ${TASK_STATES.join(', ')}` })
    .default('FAILURE')
    .meta({ description: 'Tasks whose latest change put them in this state. Default: FAILURE.' }),
});

export const TaskList = z.object({ tasks: z.array(TaskRecord) }).meta({ id: 'TaskList' });

export const WorkflowListQuery = z.object({ limit: limitField });

export const WorkflowSummary = z
  .object({
    workflow_id: TaskId,
    state: z.string(),
    done: z.number().int(),
    total: z.number().int(),
    error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'WorkflowSummary' });

export const WorkflowList = z.object({ workflows: z.array(WorkflowSummary) }).meta({ id: 'WorkflowList' });

/** Where an EventSource, which cannot send headers, may put its API key instead. */
export const EVENT_STREAM_PATH = /^\/(events|tasks\/[^/]+\/events|workflows\/[^/]+\/events)$/;
