/**
 * Lists of tasks across queues, for operators and the dashboard: those running now (the lease sets)
 * and those that changed lately (the event streams), e.g. the latest failures with their errors.
 */
import {
  decodeRecord,
  parseQueueId,
  type KeyLayout,
  type Redis,
  type TaskRecord,
  type TaskState,
  type WorkerKind,
} from '@switchyard/shared';

/** Entries read back per queue when looking for recent tasks of one state. */
const RECENT_SCAN = 2_000;

export interface TaskFilter {
  kind?: WorkerKind;
  queue?: string;
  limit: number;
}

export function createTaskLists(redis: Redis, keys: KeyLayout) {
  async function queuesOf(filter: TaskFilter): Promise<{ kind: WorkerKind; name: string }[]> {
    const ids = await redis.smembers(keys.queueSet);
    return ids.flatMap((id) => {
      const parsed = parseQueueId(id);
      if (parsed === null) return [];
      if (filter.kind !== undefined && parsed.kind !== filter.kind) return [];
      if (filter.queue !== undefined && parsed.name !== filter.queue) return [];
      return [parsed];
    });
  }

  /** Records of one queue's tasks, read together (one slot: one MGET). */
  async function recordsOf(kind: WorkerKind, name: string, taskIds: string[]): Promise<TaskRecord[]> {
    if (taskIds.length === 0) return [];
    const q = keys.queue(kind, name);
    const stored = await redis.mgetBuffer(...taskIds.map((id) => q.task(id)));
    return stored.flatMap((bytes, i) => (bytes ? [decodeRecord(taskIds[i]!, bytes)] : []));
  }

  return {
    /** Tasks a worker holds now, the longest-running first. */
    async running(filter: TaskFilter): Promise<TaskRecord[]> {
      const lists = await Promise.all(
        (await queuesOf(filter)).map(async ({ kind, name }) =>
          recordsOf(kind, name, await redis.zrange(keys.queue(kind, name).leases, 0, filter.limit - 1)),
        ),
      );
      return lists
        .flat()
        .sort((a, b) => (a.started_at ?? a.updated_at).localeCompare(b.started_at ?? b.updated_at))
        .slice(0, filter.limit);
    },

    /** The latest change of each task whose latest change put it in `state`, newest first. */
    async recent(filter: TaskFilter & { state: TaskState }): Promise<TaskRecord[]> {
      const lists = await Promise.all(
        (await queuesOf(filter)).map(async ({ kind, name }) => {
          const entries = await redis.xrevrangeBuffer(keys.queue(kind, name).events, '+', '-', 'COUNT', RECENT_SCAN);
          const seen = new Set<string>();
          const found: TaskRecord[] = [];
          for (const [, flat] of entries) {
            const fields = new Map<string, Buffer>();
            for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1] as Buffer);
            const taskId = fields.get('task')?.toString();
            const bytes = fields.get('record');
            if (taskId === undefined || bytes === undefined || seen.has(taskId)) continue;
            seen.add(taskId); // newest first: the first entry of a task is its latest change
            const record = decodeRecord(taskId, bytes);
            if (record.state === filter.state) found.push(record);
            if (found.length >= filter.limit) break;
          }
          return found;
        }),
      );
      return lists
        .flat()
        .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
        .slice(0, filter.limit);
    },
  };
}

export type TaskLists = ReturnType<typeof createTaskLists>;
