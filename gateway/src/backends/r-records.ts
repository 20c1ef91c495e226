/**
 * Reads R task records, and tells the truth about tasks whose R service died: the service keeps a
 * heartbeat key alive for every task it holds, so a record that is not terminal, has no heartbeat
 * and has not changed for a while belongs to a dead service. It is recorded as FAILURE (once, by a
 * compare-and-set) instead of showing PROGRESS forever.
 */
import {
  TaskRecord,
  codec,
  defineLuaScripts,
  isTerminal,
  nowIso,
  readTaskRecord,
  type KeyLayout,
  type Logger,
  type Redis,
} from '@switchyard/shared';
import type { RecordReader } from './backend.js';

/** A record this fresh is never declared lost: the service writes the heartbeat just after it. */
const LOST_AFTER_MS = 5_000;

export function createRRecordReader(redis: Redis, keys: KeyLayout, ttlSeconds: number, logger: Logger): RecordReader {
  const { failLostTask } = defineLuaScripts(redis, { failLostTask: 'fail-lost-task-3' });
  return async (taskId) => {
    const bytes = await redis.getBuffer(keys.task(taskId));
    if (bytes === null) return null;
    const record = TaskRecord.parse(codec.decode(bytes));
    if (record.worker !== 'r' || isTerminal(record.state)) return record;
    if (Date.now() - Date.parse(record.updated_at) < LOST_AFTER_MS) return record;
    if ((await redis.exists(keys.rHeartbeat(taskId))) === 1) return record;
    const now = nowIso();
    const failed: TaskRecord = {
      ...record,
      state: 'FAILURE',
      status: 'Task failed',
      error: 'worker lost: the R service stopped before the task finished',
      updated_at: now,
      finished_at: now,
    };
    const written = await failLostTask(
      keys.task(taskId),
      keys.rHeartbeat(taskId),
      keys.rDead,
      bytes,
      codec.encode(failed),
      ttlSeconds,
      taskId,
    );
    if (written !== 1) return readTaskRecord(redis, keys, taskId);
    logger.warn('R task lost with its service; recorded FAILURE', { task_id: taskId });
    return failed;
  };
}
