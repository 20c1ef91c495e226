/** Node tasks: planned and queued by the gateway itself (record, job and queue entry in one script). */
import { SwitchyardError, planTask, type TaskQueues } from '@switchyard/shared';
import type { SubmitBackend } from './backend.js';

export function createNodeBackend(queues: TaskQueues, maxQueueLength: number): SubmitBackend {
  return {
    kind: 'node',
    async submit(taskId, submission) {
      const { record, payload } = planTask('node', taskId, submission);
      const outcome = await queues.enqueue(record, payload, { maxLength: maxQueueLength });
      if (outcome === 'queue_full') throw queueFull(submission.queue, maxQueueLength);
      if (outcome === 'task_exists')
        throw new SwitchyardError('task_exists', `A task with id ${taskId} already exists`);
    },
  };
}

export function queueFull(queue: string, bound: number): SwitchyardError {
  return new SwitchyardError(
    'queue_full',
    `Queue ${queue} holds its limit of ${bound} tasks (MAX_QUEUE_LENGTH); retry later`,
    { retryAfterSeconds: 1 },
  );
}
