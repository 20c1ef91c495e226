/**
 * The Node task queue: a Redis list with leases, giving at-least-once delivery.
 *
 *   enqueue ──LPUSH──▶ queue ──claim (LMOVE, or BLMOVE when idle)──▶ active + lease ──finish──▶ done
 *                      ▲  ▲                                             │  │        (FAILURE: dead list)
 *                      │  └────────── maintain (lease ran out) ◀────────┘  │
 *                      └── maintain (backoff over) ◀── delayed ◀── retry ──┘
 *
 * Every multi-key change is one Lua script in shared/lua (file name = number of keys), so a worker
 * killed between two commands cannot leave a task half-moved. A worker's writes carry its token, and a
 * worker whose lease was taken over can no longer write the record or acknowledge the task.
 */
import type { Redis } from 'ioredis';
import { codec } from './codec.js';
import type { KeyLayout } from './keys.js';
import { defineLuaScripts, type ScriptCaller } from './lua.js';
import type { TaskOptions } from './options.js';
import type { TaskRecord } from './status.js';
import { readDeadLetters } from './task-store.js';

/** What travels with a queued task id. */
export interface TaskPayload {
  task: string;
  args: unknown[];
  created_at: string;
  options: TaskOptions;
}

export interface ClaimedTask {
  taskId: string;
  payload: TaskPayload;
  /** Deliveries so far, this one included: 1 on first delivery, more after retries and redeliveries. */
  attempts: number;
  /** Earlier attempts that ended in an error (retries so far). */
  failures: number;
  /** Cancelled while a worker that then died was running it: record REVOKED, do not run. */
  revoked: boolean;
}

/** How `cancel` found the task. */
export type CancelOutcome = 'revoked' | 'stopping' | 'finished' | 'not_pending';

const SCRIPTS = {
  enqueue: 'enqueue-4',
  claim: 'claim-3',
  extendLeases: 'extend-leases-1',
  writeRecord: 'write-record-2',
  finish: 'finish-5',
  retry: 'retry-5',
  release: 'release-5',
  maintain: 'maintain-4',
  cancel: 'cancel-5',
  requeueDead: 'requeue-dead-4',
} as const;

type ScriptName = keyof typeof SCRIPTS;

export class NodeQueue {
  private readonly scripts: Record<ScriptName, ScriptCaller>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeyLayout,
    private readonly recordTtlSeconds: number,
  ) {
    this.scripts = defineLuaScripts<ScriptName>(redis, SCRIPTS, new Set(['claim']));
  }

  /**
   * Accepts a task: its PENDING record, payload and queue entry appear together or not at all. With an
   * idempotency scope already used, nothing is queued and the earlier task id is returned.
   */
  async enqueue(record: TaskRecord, options: TaskOptions, idempotencyScope?: string): Promise<string> {
    const payload: TaskPayload = {
      task: record.task,
      args: record.args,
      created_at: record.created_at,
      options,
    };
    const taskId = await this.scripts.enqueue(
      this.keys.task(record.task_id),
      this.keys.job(record.task_id),
      this.keys.nodeQueue,
      this.keys.idempotency(idempotencyScope ?? '-'),
      record.task_id,
      codec.encode(record),
      codec.encode(payload),
      this.recordTtlSeconds,
      idempotencyScope === undefined ? '' : '1',
    );
    return String(taskId);
  }

  /** Takes up to `max` queued tasks without waiting; `movedId` is an id `waitForTask` already moved. */
  async claim(max: number, token: string, leaseMs: number, movedId = ''): Promise<ClaimedTask[]> {
    const flat = (await this.scripts.claim(
      this.keys.nodeQueue,
      this.keys.nodeActive,
      this.keys.nodeLeases,
      max,
      Date.now() + leaseMs,
      token,
      this.keys.jobPrefix,
      movedId,
    )) as (string | Buffer | number)[];
    const claimed: ClaimedTask[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      claimed.push({
        taskId: String(flat[i]),
        payload: codec.decode(flat[i + 1] as Buffer) as TaskPayload,
        attempts: Number(flat[i + 2]),
        failures: Number(flat[i + 3]),
        revoked: String(flat[i + 4]) === '1',
      });
    }
    return claimed;
  }

  /**
   * Blocks (on a connection of its own) until a task is queued or `timeoutSeconds` pass, moving its id
   * to the active list; pass the id to `claim`. A worker that dies right after leaves an orphan that
   * `requeueExpired` redelivers.
   */
  async waitForTask(blocking: Redis, timeoutSeconds: number): Promise<string | null> {
    return blocking.blmove(this.keys.nodeQueue, this.keys.nodeActive, 'RIGHT', 'LEFT', timeoutSeconds);
  }

  /** Renews the leases of running tasks; says which leases were lost and which tasks were cancelled. */
  async extendLeases(
    taskIds: readonly string[],
    token: string,
    leaseMs: number,
  ): Promise<{ lost: string[]; revoked: string[] }> {
    if (taskIds.length === 0) return { lost: [], revoked: [] };
    const [lost, revoked] = (await this.scripts.extendLeases(
      this.keys.nodeLeases,
      Date.now() + leaseMs,
      token,
      this.keys.jobPrefix,
      ...taskIds,
    )) as [string[], string[]];
    return { lost, revoked };
  }

  /** Writes a STARTED or PROGRESS record; false if the lease is lost. */
  async writeRecord(record: TaskRecord, token: string): Promise<boolean> {
    const written = await this.scripts.writeRecord(
      this.keys.job(record.task_id),
      this.keys.task(record.task_id),
      token,
      codec.encode(record),
      this.recordTtlSeconds,
    );
    return written === 1;
  }

  /**
   * Acknowledges a task with its terminal record; `deadLetter` keeps a FAILURE on the dead-letter list.
   * False if the lease is lost.
   */
  async finish(record: TaskRecord, token: string, deadLetter = false): Promise<boolean> {
    const done = await this.scripts.finish(
      this.keys.nodeActive,
      this.keys.nodeLeases,
      this.keys.job(record.task_id),
      this.keys.task(record.task_id),
      this.keys.nodeDead,
      record.task_id,
      token,
      codec.encode(record),
      this.recordTtlSeconds,
      deadLetter ? '1' : '',
    );
    return done === 1;
  }

  /** Schedules another attempt after `delayMs`, showing the RETRY `record` meanwhile; false if the lease is lost. */
  async retry(record: TaskRecord, token: string, delayMs: number): Promise<boolean> {
    const scheduled = await this.scripts.retry(
      this.keys.nodeActive,
      this.keys.nodeLeases,
      this.keys.nodeDelayed,
      this.keys.job(record.task_id),
      this.keys.task(record.task_id),
      record.task_id,
      token,
      codec.encode(record),
      this.recordTtlSeconds,
      Date.now() + delayMs,
    );
    return scheduled === 1;
  }

  /** Hands a task back to the front of the queue, showing `record` until it is taken again. */
  async release(record: TaskRecord, token: string): Promise<boolean> {
    const released = await this.scripts.release(
      this.keys.nodeActive,
      this.keys.nodeLeases,
      this.keys.nodeQueue,
      this.keys.job(record.task_id),
      this.keys.task(record.task_id),
      record.task_id,
      token,
      codec.encode(record),
      this.recordTtlSeconds,
    );
    return released === 1;
  }

  /** Redelivers tasks whose lease ran out and queues retries whose backoff is over. */
  async maintain(leaseMs: number, limit = 1_000): Promise<{ requeued: string[]; promoted: string[] }> {
    const [requeued, promoted] = (await this.scripts.maintain(
      this.keys.nodeActive,
      this.keys.nodeLeases,
      this.keys.nodeQueue,
      this.keys.nodeDelayed,
      Date.now(),
      leaseMs,
      this.keys.jobPrefix,
      limit,
    )) as [string[], string[]];
    return { requeued, promoted };
  }

  /** Cancels a task: a waiting one is REVOKED with `revokedRecord` at once, a running one is asked to stop. */
  async cancel(revokedRecord: TaskRecord): Promise<CancelOutcome> {
    const outcome = await this.scripts.cancel(
      this.keys.nodeQueue,
      this.keys.nodeDelayed,
      this.keys.nodeActive,
      this.keys.job(revokedRecord.task_id),
      this.keys.task(revokedRecord.task_id),
      revokedRecord.task_id,
      codec.encode(revokedRecord),
      this.recordTtlSeconds,
      this.keys.nodeCancelChannel,
    );
    return (['not_pending', 'revoked', 'stopping', 'finished'] as const)[Number(outcome)] ?? 'not_pending';
  }

  /** Ids on the dead-letter list, newest first, and how many there are. */
  async deadLetters(limit: number): Promise<{ total: number; taskIds: string[] }> {
    return readDeadLetters(this.redis, this.keys.nodeDead, limit);
  }

  /** Queues a dead letter again with `pendingRecord`, attempts reset. */
  async requeueDead(pendingRecord: TaskRecord): Promise<'requeued' | 'not_dead' | 'expired'> {
    const outcome = await this.scripts.requeueDead(
      this.keys.nodeDead,
      this.keys.job(pendingRecord.task_id),
      this.keys.nodeQueue,
      this.keys.task(pendingRecord.task_id),
      pendingRecord.task_id,
      codec.encode(pendingRecord),
      this.recordTtlSeconds,
    );
    return outcome === 1 ? 'requeued' : outcome === 0 ? 'not_dead' : 'expired';
  }

  /** Tasks waiting, taken but not yet acknowledged, waiting out a retry backoff, and dead-lettered. */
  async depth(): Promise<{ queued: number; active: number; delayed: number; dead: number }> {
    const [queued, active, delayed, dead] = await Promise.all([
      this.redis.llen(this.keys.nodeQueue),
      this.redis.llen(this.keys.nodeActive),
      this.redis.zcard(this.keys.nodeDelayed),
      this.redis.llen(this.keys.nodeDead),
    ]);
    return { queued, active, delayed, dead };
  }
}
