/**
 * The Celery bridge's mirror: the states of the tasks Celery producers sent are written to Celery's
 * result backend as Celery does (SETEX `celery-task-meta-<id>` and PUBLISH on that name, which
 * `AsyncResult.get()` waits on): STARTED, PROGRESS with meta {current, total, status}, RETRY,
 * SUCCESS with the result, FAILURE with an exception `.get()` raises, REVOKED.
 *
 * Fed by the queues' event streams (the same as live events), not by reading records: a bridged
 * task's queue is followed from before its task is queued. The bridged ids are also kept in a set in
 * Redis, and a slow sweep over it catches whatever a restart or a trimmed stream made the live path
 * miss; a state already mirrored is not written twice.
 */
import {
  decodeRecord,
  isTerminal,
  type KeyLayout,
  type Logger,
  type RecordReader,
  type Redis,
  type TaskRecord,
} from '@switchyard/shared';
import type { StreamHub } from '../events/stream-hub.js';

/** Celery's default result_expires: a day. */
const RESULT_EXPIRES_SECONDS = 86_400;
/** Bridged tasks the sweep looks at in one pass. */
const SWEEP_BATCH = 500;

export interface MirrorDeps {
  /** Celery's broker and result backend. */
  broker: Redis;
  redis: Redis;
  keys: KeyLayout;
  reader: RecordReader;
  hub: StreamHub;
  logger: Logger;
}

export class CeleryMirror {
  private readonly followed = new Map<string, () => void>();
  private readonly watching = new Set<string>();
  /** Backend writes happen one after another, so a task's states reach Celery in their order. */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly deps: MirrorDeps) {}

  private get mirrored() {
    return this.deps.keys.celeryBridge('mirrored');
  }
  private get seen() {
    return this.deps.keys.celeryBridge('seen');
  }

  /** Mirrors a task about to be queued in `<kind>:<queue>` until it ends; call it before queuing. */
  async track(taskId: string, kind: string, queue: string): Promise<void> {
    this.watching.add(taskId);
    await this.deps.redis.zadd(this.mirrored, Date.now(), taskId);
    await this.follow(kind, queue);
  }

  /** The safety net: every bridged task not ended yet, from its record (and its queue followed again). */
  async sweep(): Promise<void> {
    const { redis, reader } = this.deps;
    for (const id of await redis.zrange(this.mirrored, 0, SWEEP_BATCH - 1)) {
      const [record, where] = await Promise.all([reader.read(id), reader.locate(id)]);
      if (record === null || where === null) {
        await this.forget(id);
        continue;
      }
      this.watching.add(id);
      await this.follow(where.kind, where.queue);
      await this.mirrorRecord(record);
    }
  }

  stop(): void {
    for (const unsubscribe of this.followed.values()) unsubscribe();
    this.followed.clear();
  }

  /** As Celery's Redis backend does: SETEX the meta, and PUBLISH it on the key's name. */
  async writeMeta(taskId: string, status: string, result: unknown): Promise<void> {
    const key = `celery-task-meta-${taskId}`;
    const meta = JSON.stringify({
      status,
      result,
      traceback: status === 'FAILURE' ? `Switchyard: ${JSON.stringify(result)}` : null,
      children: [],
      date_done: ['SUCCESS', 'FAILURE', 'REVOKED'].includes(status) ? new Date().toISOString() : null,
      task_id: taskId,
    });
    await this.deps.broker.setex(key, RESULT_EXPIRES_SECONDS, meta);
    await this.deps.broker.publish(key, meta);
  }

  private async follow(kind: string, queue: string): Promise<void> {
    const stream = this.deps.keys.queue(kind, queue).events;
    if (this.followed.has(stream)) return;
    this.followed.set(stream, () => undefined);
    const unsubscribe = await this.deps.hub.subscribe(stream, await this.deps.hub.latestId(stream), (entry) => {
      if (entry.task === undefined || !this.watching.has(entry.task)) return;
      const bytes = entry.fields.get('record');
      if (!bytes) return;
      const record = decodeRecord(entry.task, bytes);
      this.writes = this.writes
        .then(() => this.mirrorRecord(record))
        .catch((error: unknown) => this.deps.logger.warn('celery mirror: the sweep will try again', { error }));
    });
    this.followed.set(stream, unsubscribe);
  }

  private async forget(taskId: string): Promise<void> {
    this.watching.delete(taskId);
    await this.deps.redis.zrem(this.mirrored, taskId);
    await this.deps.redis.hdel(this.seen, taskId);
  }

  /** Writes `record`'s state to the backend unless it was the last one written. */
  private async mirrorRecord(record: TaskRecord): Promise<void> {
    const seen = `${record.state}:${record.current}:${record.attempts}`;
    if ((await this.deps.redis.hget(this.seen, record.task_id)) === seen) return;
    await this.writeState(record);
    if (isTerminal(record.state)) await this.forget(record.task_id);
    else await this.deps.redis.hset(this.seen, record.task_id, seen);
  }

  private async writeState(record: TaskRecord): Promise<void> {
    switch (record.state) {
      case 'PENDING':
        return;
      case 'STARTED':
        return this.writeMeta(record.task_id, 'STARTED', { pid: null, hostname: 'switchyard' });
      case 'PROGRESS':
        return this.writeMeta(record.task_id, 'PROGRESS', {
          current: record.current,
          total: record.total,
          status: record.status,
        });
      case 'RETRY':
        return this.writeMeta(record.task_id, 'RETRY', {
          exc_type: 'RuntimeError',
          exc_message: [record.error ?? 'retrying'],
          exc_module: 'builtins',
        });
      case 'SUCCESS':
        return this.writeMeta(record.task_id, 'SUCCESS', record.result);
      case 'FAILURE':
        return this.writeMeta(record.task_id, 'FAILURE', {
          exc_type: 'RuntimeError',
          exc_message: [record.error ?? 'failed'],
          exc_module: 'builtins',
        });
      case 'REVOKED':
        return this.writeMeta(record.task_id, 'REVOKED', {
          exc_type: 'TaskRevokedError',
          exc_message: [record.status],
          exc_module: 'celery.exceptions',
        });
    }
  }
}
