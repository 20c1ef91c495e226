/** Reads task status records, whichever worker wrote them. */
import type { Redis } from 'ioredis';
import { codec } from './codec.js';
import type { KeyLayout } from './keys.js';
import { TaskRecord } from './status.js';

export async function readTaskRecord(redis: Redis, keys: KeyLayout, taskId: string): Promise<TaskRecord | null> {
  const bytes = await redis.getBuffer(keys.task(taskId));
  if (bytes === null) return null;
  return TaskRecord.parse(codec.decode(bytes));
}

/** The first `limit` ids of a dead-letter list (newest first), and how long the list is. */
export async function readDeadLetters(
  redis: Redis,
  listKey: string,
  limit: number,
): Promise<{ total: number; taskIds: string[] }> {
  const [total, taskIds] = await Promise.all([redis.llen(listKey), redis.lrange(listKey, 0, limit - 1)]);
  return { total, taskIds };
}
