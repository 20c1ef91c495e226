/** Node tasks: planned and queued by the gateway itself (record, job and queue entry in one script). */
import { planTask, type TaskQueues } from '@switchyard/shared';
import { scriptError } from '../services/script-errors.js';
import type { SubmitBackend } from './backend.js';

export function createNodeBackend(queues: TaskQueues, maxQueueLength: number): SubmitBackend {
  return {
    kind: 'node',
    async submit(taskId, submission) {
      const { record, payload } = planTask('node', taskId, submission);
      const outcome = await queues.enqueue(record, payload, { maxLength: maxQueueLength });
      if (outcome !== 'ok') throw scriptError(outcome, { taskId, queue: submission.queue, bound: maxQueueLength });
    },
  };
}
