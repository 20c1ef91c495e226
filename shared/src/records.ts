/**
 * Reads task status records, whichever worker wrote them, from the task id alone: the locator names
 * the task's queue, whose keys hold the record. A task never changes queue, so locators are cached.
 */
import type { Redis } from './redis.js';
import { parseQueueId, type KeyLayout } from './keys.js';
import { TaskRecord } from './status.js';
import { decodeRecord } from './stored-record.js';

export interface RecordReader {
  /** The record of `taskId`, or null when there is none (never existed, or expired). */
  read(taskId: string): Promise<TaskRecord | null>;
  /** `<kind>:<queue>` of `taskId`, or null. */
  locate(taskId: string): Promise<{ kind: string; queue: string } | null>;
}

const CACHED_LOCATORS = 50_000;

export function createRecordReader(redis: Redis, keys: KeyLayout): RecordReader {
  const cache = new Map<string, string>();
  const locatorOf = async (taskId: string): Promise<string | null> => {
    const cached = cache.get(taskId);
    if (cached !== undefined) return cached;
    const found = await redis.get(keys.locator(taskId));
    if (found !== null) {
      if (cache.size >= CACHED_LOCATORS) cache.delete(cache.keys().next().value ?? '');
      cache.set(taskId, found);
    }
    return found;
  };
  const located = async (taskId: string) => {
    const locator = await locatorOf(taskId);
    const queue = locator === null ? null : parseQueueId(locator);
    return queue === null ? null : { kind: queue.kind, queue: queue.name };
  };
  return {
    locate: located,
    async read(taskId) {
      const where = await located(taskId);
      if (where === null) return null;
      const bytes = await redis.getBuffer(keys.queue(where.kind, where.queue).task(taskId));
      if (bytes === null) return null;
      return TaskRecord.parse(decodeRecord(taskId, bytes));
    },
  };
}
