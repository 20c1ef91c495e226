/**
 * R tasks: handed to the R service, which validates them, writes the first record and queues them
 * before it answers 202 (the design's contract: R decides what an R task is). The gateway only
 * resolves the queue and passes the caller's request on.
 */
import {
  SwitchyardError,
  isTerminal,
  revoked,
  type KeyLayout,
  type Logger,
  type RecordReader,
  type Redis,
  type TaskQueues,
} from '@switchyard/shared';
import type { RServiceClient } from '../r-service/client.js';
import type { SubmitBackend } from './backend.js';

export interface RBackendDeps {
  rService: Pick<RServiceClient, 'submit'>;
  redis: Redis;
  keys: KeyLayout;
  queues: TaskQueues;
  reader: RecordReader;
  logger: Logger;
}

export function createRBackend(deps: RBackendDeps): SubmitBackend {
  const { rService, redis, keys, queues, reader, logger } = deps;

  /**
   * The R service did not answer as it should (a timeout, a garbage reply) but may have queued the
   * task. The caller got 503, which promises nothing was started: cancel it and remove its record.
   * Best effort; each step may fail if Redis is really gone.
   */
  const forget = async (taskId: string) => {
    const record = await reader.read(taskId).catch(() => null);
    if (record === null) return;
    if (!isTerminal(record.state)) {
      await queues
        .cancel(revoked(record, 'Cancelled: the R service did not answer the gateway in time'))
        .catch(() => null);
    }
    // Two commands, not one DEL: on a cluster the record (its queue's slot) and the locator (its own) may
    // live on different nodes. The record goes first, so a locator never outlives a record it finds.
    await redis.del(queues.queue(record.queue).task(taskId)).catch(() => 0);
    await redis.del(keys.locator(taskId)).catch(() => 0);
    logger.warn('R service did not answer as it should; removed the task it queued', { task_id: taskId });
  };

  return {
    kind: 'r',
    async submit(taskId, submission) {
      try {
        await rService.submit(taskId, submission);
      } catch (error) {
        if (error instanceof SwitchyardError && error.code === 'r_service_unavailable') await forget(taskId);
        throw error;
      }
    },
  };
}
