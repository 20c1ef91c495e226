/**
 * What a script's answer means to a caller of the gateway, in one place (as BullMQ's
 * finished-errors.ts does for its codes): each outcome that is not plain success becomes the
 * SwitchyardError a client receives.
 */
import { SwitchyardError, type ScriptOutcome, type TaskRecord } from '@switchyard/shared';

export interface OutcomeContext {
  taskId: string;
  queue?: string;
  /** For queue_full: the bound that was reached. */
  bound?: number;
  /** For task_finished: the record as last read. */
  record?: TaskRecord;
}

export function scriptError(outcome: ScriptOutcome, context: OutcomeContext): SwitchyardError {
  const { taskId } = context;
  switch (outcome) {
    case 'task_exists':
      return new SwitchyardError('task_exists', `A task with id ${taskId} already exists`);
    case 'queue_full':
      return new SwitchyardError(
        'queue_full',
        `Queue ${context.queue ?? '?'} holds its limit of ${context.bound ?? '?'} tasks (MAX_QUEUE_LENGTH); retry later`,
        { retryAfterSeconds: 1 },
      );
    case 'task_finished':
    case 'no_such_task':
      return new SwitchyardError(
        'task_finished',
        `Task ${taskId} has already finished (${context.record?.state ?? 'FAILURE'})`,
      );
    case 'not_dead_letter':
      return new SwitchyardError('task_not_found', `Task ${taskId} is not a dead letter of its queue`);
    case 'payload_expired':
      return new SwitchyardError('task_not_found', `Task ${taskId} can no longer run: its job expired`);
    case 'lease_lost':
    case 'ok':
    case 'running':
      return new SwitchyardError('internal', `Unexpected answer ${outcome} for task ${taskId}`);
  }
}
