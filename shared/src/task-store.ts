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
