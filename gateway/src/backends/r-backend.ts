/**
 * R tasks: handed to the R service, which writes the PENDING record before it answers. An
 * Idempotency-Key is claimed in Redis before the call and released if the R service does not accept.
 */
import { randomUUID } from 'node:crypto';
import { SwitchyardError, readDeadLetters, type KeyLayout, type Logger, type Redis } from '@switchyard/shared';
import type { RServiceClient } from '../r-service/client.js';
import { cancellableRecord, type TaskBackend } from './backend.js';
import { createRRecordReader } from './r-records.js';

export interface RBackendDeps {
  redis: Redis;
  keys: KeyLayout;
  resultTtlSeconds: number;
  rService: Pick<RServiceClient, 'submit' | 'cancel' | 'requeue'>;
  logger: Logger;
}

export function createRBackend(deps: RBackendDeps): TaskBackend {
  const { redis, keys, rService, logger } = deps;
  const readRecord = createRRecordReader(redis, keys, deps.resultTtlSeconds, logger);

  /**
   * The R service did not answer as it should (a timeout, a garbage reply): it may still have written
   * the task's record. The caller got 503, so nothing may claim the task exists: stop it if it started
   * and remove what was written. Best effort; each step may fail if the service is really gone.
   */
  const forget = async (taskId: string) => {
    await rService.cancel(taskId).catch(() => undefined);
    await redis.del(keys.task(taskId), keys.rHeartbeat(taskId), keys.rRequest(taskId)).catch(() => 0);
    logger.warn('R service did not accept the task; removed anything it wrote', { task_id: taskId });
  };
  return {
    worker: 'r',
    read: readRecord,
    async submit(submission, idempotencyScope) {
      const taskId = randomUUID();
      const idempotencyKey = idempotencyScope === undefined ? null : keys.idempotency(idempotencyScope);
      if (idempotencyKey !== null) {
        const claimed = await redis.set(idempotencyKey, taskId, 'EX', deps.resultTtlSeconds, 'NX');
        if (claimed === null) {
          const earlier = await redis.get(idempotencyKey);
          if (earlier !== null) return { taskId: earlier, replayed: true };
        }
      }
      try {
        await rService.submit(taskId, submission);
      } catch (error) {
        if (idempotencyKey !== null) await redis.del(idempotencyKey).catch(() => 0);
        if (error instanceof SwitchyardError && error.code === 'r_service_unavailable') await forget(taskId);
        throw error;
      }
      logger.info('task handed to the R service', { task_id: taskId, worker: 'r', task: submission.task });
      return { taskId, replayed: false };
    },
    deadLetters: (limit) => readDeadLetters(redis, keys.rDead, limit),
    async requeueDead(taskId) {
      await rService.requeue(taskId);
      logger.info('dead letter requeued on the R service', { task_id: taskId });
    },
    async cancel(taskId) {
      await cancellableRecord(readRecord, 'r', taskId);
      await rService.cancel(taskId);
      logger.info('cancelled on the R service', { task_id: taskId });
      const record = await readRecord(taskId);
      return record?.state === 'REVOKED' ? { outcome: 'revoked', record } : { outcome: 'stopping' };
    },
  };
}
