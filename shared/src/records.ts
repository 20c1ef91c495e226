/**
 * Reads task status records, whichever worker wrote them, from the task id alone: the locator names
 * the task's queue, whose keys hold the record. A task never changes queue, so locators are cached.
 */
import type { Redis } from 'ioredis';
import { codec } from './codec.js';
import type { KeyLayout } from './keys.js';
import { TaskRecord } from './status.js';

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
  const split = (locator: string) => {
    const colon = locator.indexOf(':');
    return { kind: locator.slice(0, colon), queue: locator.slice(colon + 1) };
  };
  return {
    async locate(taskId) {
      const locator = await locatorOf(taskId);
      return locator === null ? null : split(locator);
    },
    async read(taskId) {
      const locator = await locatorOf(taskId);
      if (locator === null) return null;
      const { kind, queue } = split(locator);
      const bytes = await redis.getBuffer(keys.queue(kind, queue).task(taskId));
      if (bytes === null) return null;
      return TaskRecord.parse(codec.decode(bytes));
    },
  };
}
