/**
 * The task queues of one worker kind, in Redis, with leases: at-least-once delivery, the same model
 * and the same Lua scripts (shared/lua) for Node and R (docs/queues.md).
 *
 *   enqueue ──▶ waiting (by priority, FIFO) ──claim──▶ leases (active) ──finish──▶ done / dead
 *      │            ▲  ▲                                 │  │
 *      └▶ delayed ──┘  └──── maintain (lease ran out) ◀──┘  └─ retry ─▶ delayed
 *
 * Every state change is one script touching the keys of one queue (one Redis Cluster slot). A
 * worker's writes carry its token; a worker whose lease was taken over can no longer write.
 */
import { ClusterMarkerWaits } from './cluster-marker-waits.js';
import { isCluster, type Redis } from './redis.js';
import { encodeRecord } from './stored-record.js';
import { storePayload } from './stored-payload.js';
import type { KeyLayout, QueueKeys } from './keys.js';
import { defineLuaScripts, type ScriptCaller } from './lua.js';
import { scriptOutcome, type ScriptOutcome } from './script-codes.js';
import type { TaskRecord } from './status.js';
import { runTimeArguments } from './task-metrics.js';
import type { WorkerKind } from './tasks.js';
import { decodeTaken, type ClaimedTask, type FinishedTask, type QueueStats, type TaskPayload } from './queue-types.js';

export type { ClaimedTask, FinishedTask, QueueStats, TaskPayload } from './queue-types.js';

const SCRIPTS = {
  enqueue: 'enqueue-7',
  finishAndClaim: 'finish-claim-10',
  extendLeases: 'extend-leases-1',
  writeRecord: 'write-record-3',
  retry: 'retry-7',
  release: 'release-7',
  maintain: 'maintain-5',
  cancel: 'cancel-7',
  requeueDead: 'requeue-dead-7',
  setPaused: 'set-paused-4',
  stats: 'queue-stats-5',
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** A locator outlives its record's first TTL by this much, covering the task's running time and retries. */
export const LOCATOR_SLACK_SECONDS = 2 * 86_400;

export class TaskQueues {
  private readonly scripts: Record<ScriptName, ScriptCaller>;
  private readonly listed = new Set<string>();

  constructor(
    private readonly redis: Redis,
    readonly keys: KeyLayout,
    readonly kind: WorkerKind,
    readonly recordTtlSeconds: number,
  ) {
    this.scripts = defineLuaScripts<ScriptName>(redis, SCRIPTS, new Set(['finishAndClaim']));
  }

  queue(name: string): QueueKeys {
    return this.keys.queue(this.kind, name);
  }

  /**
   * Accepts a task into `record.queue`: record, job and queue entry appear together or not at all
   * (waiting, or delayed when `payload.options.eta` is ahead). The locator, written first, finds the
   * record from its id; `maxLength` > 0 bounds the queue.
   */
  async enqueue(
    record: TaskRecord,
    payload: TaskPayload,
    {
      maxLength = 0,
      wake = false,
      held = false,
      earlierAttempts = 0,
    }: {
      maxLength?: number;
      wake?: boolean;
      /** A workflow step waiting for earlier steps: no place in line yet. */
      held?: boolean;
      /** Attempts already made elsewhere (a Celery message's `retries`): they count as failed ones. */
      earlierAttempts?: number;
    } = {},
  ): Promise<'ok' | 'task_exists' | 'queue_full'> {
    const q = this.queue(record.queue);
    const now = Date.now();
    const due = held ? -1 : payload.options.eta === null ? 0 : Date.parse(payload.options.eta);
    const delaySeconds = Math.max(0, Math.ceil((due - now) / 1000));
    const locatorTtl = this.recordTtlSeconds + delaySeconds + LOCATOR_SLACK_SECONDS;
    this.remember(q);
    // The locator is taken first, so a task id is unique across queues, not only within one.
    const locator = this.keys.locator(record.task_id);
    if ((await this.redis.set(locator, q.id, 'EX', locatorTtl, 'NX')) === null) {
      if ((await this.redis.get(locator)) !== q.id) return 'task_exists';
    }
    const stored = storePayload(this.kind, payload);
    const reply = await this.scripts.enqueue(
      q.task(record.task_id),
      q.job(record.task_id),
      q.wait,
      q.delayed,
      q.marker,
      q.seq,
      q.events,
      record.task_id,
      encodeRecord(record),
      stored.payload,
      this.recordTtlSeconds,
      payload.options.priority,
      due,
      maxLength,
      wake ? this.keys.wakeChannel(this.kind) : '',
      now,
      q.id,
      payload.workflow_id ?? '',
      earlierAttempts,
      stored.created_at,
      stored.traceparent,
    );
    const outcome = scriptOutcome(reply);
    if (outcome === 'queue_full') await this.redis.del(locator);
    if (outcome !== 'ok' && outcome !== 'task_exists' && outcome !== 'queue_full') throw unexpected('enqueue', outcome);
    return outcome;
  }

  /** Adds the queue to the set `GET /queues` lists (once per process and queue). */
  remember(q: QueueKeys): void {
    if (this.listed.has(q.id)) return;
    this.listed.add(q.id);
    void this.redis.sadd(this.keys.queueSet, q.id).catch(() => this.listed.delete(q.id));
  }

  /** Takes up to `max` tasks of queue `name`; `nextWorkAt` bounds how long the caller may block (ms; 0 now, -1 never). */
  async claim(
    name: string,
    max: number,
    token: string,
    leaseMs: number,
  ): Promise<{ tasks: ClaimedTask[]; nextWorkAt: number }> {
    const { tasks, nextWorkAt } = await this.finishAndClaim(name, [], token, { max, leaseMs });
    return { tasks, nextWorkAt };
  }

  /**
   * A worker's turn on queue `name` in one call: acknowledges `finished` (terminal records of tasks it
   * holds, all of that queue), then takes up to `take.max` more. `acknowledged[i]` is false where the
   * lease of `finished[i]` was lost (another worker owns it; nothing changed for it).
   */
  async finishAndClaim(
    name: string,
    finished: readonly FinishedTask[],
    token: string,
    take: { max: number; leaseMs: number },
  ): Promise<{ acknowledged: boolean[]; tasks: ClaimedTask[]; nextWorkAt: number }> {
    const q = this.queue(name);
    const now = Date.now();
    const perTask: (string | Buffer)[] = [];
    for (const { record, deadLetter } of finished) {
      if (record.queue !== name)
        throw new Error(`finishAndClaim(${name}): task ${record.task_id} is of ${record.queue}`);
      perTask.push(record.task_id, encodeRecord(record), deadLetter ? '1' : '', record.task, record.state);
      perTask.push(...runTimeArguments(record));
    }
    const [acks, flat, next] = (await this.scripts.finishAndClaim(
      q.leases,
      q.dead,
      q.handoffs,
      q.events,
      q.stats,
      q.wait,
      q.delayed,
      q.marker,
      q.seq,
      q.paused,
      token,
      this.recordTtlSeconds,
      now,
      this.keys.handoffChannel,
      q.id,
      q.jobPrefix,
      q.taskPrefix,
      take.max,
      now + take.leaseMs,
      ...perTask,
    )) as [number[], (Buffer | number)[], number];
    return {
      acknowledged: acks.map((ack) => scriptOutcome(ack) === 'ok'),
      tasks: decodeTaken(flat, this.kind, name),
      nextWorkAt: Number(next),
    };
  }

  /**
   * Blocks (on a connection of its own) until one of `names` may have work or `timeoutSeconds` pass;
   * returns the queue whose marker woke it and when its work is due (ms), or null on timeout. Then
   * claim: the marker only says where to look.
   *
   * On one Redis this is one BZPOPMIN over every marker. On a cluster one BZPOPMIN may only name keys of
   * one slot, and each queue has its own hash tag, so each queue gets a blocked BZPOPMIN of its own
   * (ClusterMarkerWaits); none of them polls.
   */
  async waitForWork(
    blocking: Redis,
    names: readonly string[],
    timeoutSeconds: number,
  ): Promise<{ queue: string; dueAt: number } | null> {
    const markers = names.map((name) => this.queue(name).marker);
    if (isCluster(blocking) && names.length > 1) {
      return ClusterMarkerWaits.of(blocking).wait(markers, names, timeoutSeconds);
    }
    const popped = await blocking.bzpopmin(...markers, timeoutSeconds);
    if (popped === null) return null;
    const [marker, , score] = popped;
    const index = markers.indexOf(marker);
    return { queue: names[index] ?? names[0] ?? '', dueAt: Number(score) };
  }

  /** Renews the leases of running tasks of queue `name`; says which leases were lost and which tasks were cancelled. */
  async extendLeases(
    name: string,
    taskIds: readonly string[],
    token: string,
    leaseMs: number,
  ): Promise<{ lost: string[]; revoked: string[] }> {
    if (taskIds.length === 0) return { lost: [], revoked: [] };
    const q = this.queue(name);
    const [lost, revoked] = (await this.scripts.extendLeases(
      q.leases,
      Date.now() + leaseMs,
      token,
      q.jobPrefix,
      ...taskIds,
    )) as [string[], string[]];
    return { lost, revoked };
  }

  /** Writes a STARTED or PROGRESS record; false if the lease is lost. */
  async writeRecord(record: TaskRecord, token: string): Promise<boolean> {
    const q = this.queue(record.queue);
    const reply = await this.scripts.writeRecord(
      q.job(record.task_id),
      q.task(record.task_id),
      q.events,
      token,
      encodeRecord(record),
      this.recordTtlSeconds,
      record.task_id,
    );
    return scriptOutcome(reply) === 'ok';
  }

  /** Acknowledges a task with its terminal record; `deadLetter` keeps a FAILURE as a dead letter. False if the lease is lost. */
  async finish(record: TaskRecord, token: string, deadLetter = false): Promise<boolean> {
    const { acknowledged } = await this.finishAndClaim(record.queue, [{ record, deadLetter }], token, {
      max: 0,
      leaseMs: 0,
    });
    return acknowledged[0] === true;
  }

  /** Schedules another attempt after `delayMs`, showing the RETRY `record` meanwhile; false if the lease is lost. */
  async retry(record: TaskRecord, token: string, delayMs: number): Promise<boolean> {
    const q = this.queue(record.queue);
    const reply = await this.scripts.retry(
      q.leases,
      q.delayed,
      q.job(record.task_id),
      q.task(record.task_id),
      q.marker,
      q.events,
      q.stats,
      record.task_id,
      token,
      encodeRecord(record),
      this.recordTtlSeconds,
      Date.now() + delayMs,
      Date.now(),
      record.task,
    );
    return scriptOutcome(reply) === 'ok';
  }

  /** Hands a task back to the front of its priority, showing `record` until it is taken again. */
  async release(record: TaskRecord, token: string): Promise<boolean> {
    const q = this.queue(record.queue);
    const reply = await this.scripts.release(
      q.leases,
      q.wait,
      q.job(record.task_id),
      q.task(record.task_id),
      q.marker,
      q.seq,
      q.events,
      record.task_id,
      token,
      encodeRecord(record),
      this.recordTtlSeconds,
      this.wakeOf(),
      q.id,
    );
    return scriptOutcome(reply) === 'ok';
  }

  /** Sweeps queue `name`: redelivers tasks whose lease ran out, moves due delayed tasks in line. */
  async maintain(name: string, limit = 1_000): Promise<{ requeued: string[]; promoted: string[] }> {
    const q = this.queue(name);
    const [requeued, promoted] = (await this.scripts.maintain(
      q.leases,
      q.wait,
      q.delayed,
      q.marker,
      q.seq,
      Date.now(),
      q.jobPrefix,
      limit,
    )) as [string[], string[]];
    return { requeued, promoted };
  }

  /** Cancels a task: a waiting one is REVOKED with `revokedRecord` at once, a running one is asked to stop. */
  async cancel(revokedRecord: TaskRecord): Promise<ScriptOutcome> {
    const q = this.queue(revokedRecord.queue);
    return scriptOutcome(
      await this.scripts.cancel(
        q.wait,
        q.delayed,
        q.job(revokedRecord.task_id),
        q.task(revokedRecord.task_id),
        q.handoffs,
        q.events,
        q.stats,
        revokedRecord.task_id,
        encodeRecord(revokedRecord),
        this.recordTtlSeconds,
        this.keys.cancelChannel(this.kind),
        Date.now(),
        this.keys.handoffChannel,
        q.id,
        revokedRecord.task,
      ),
    );
  }

  /** Queues a dead letter again with `pendingRecord` (attempts reset). */
  async requeueDead(pendingRecord: TaskRecord): Promise<ScriptOutcome> {
    const q = this.queue(pendingRecord.queue);
    return scriptOutcome(
      await this.scripts.requeueDead(
        q.dead,
        q.job(pendingRecord.task_id),
        q.wait,
        q.task(pendingRecord.task_id),
        q.marker,
        q.seq,
        q.events,
        pendingRecord.task_id,
        encodeRecord(pendingRecord),
        this.recordTtlSeconds,
        this.wakeOf(),
        q.id,
      ),
    );
  }

  /** Workers stop (true) or start again (false) taking tasks from queue `name`; submissions go on. */
  async setPaused(name: string, paused: boolean): Promise<void> {
    const q = this.queue(name);
    this.remember(q);
    await this.scripts.setPaused(q.paused, q.wait, q.delayed, q.marker, paused ? '1' : '', this.wakeOf(), q.id);
  }

  /** The dead letters of queue `name`, newest first: ids with when they failed (ms), and how many there are. */
  async deadLetters(
    name: string,
    limit: number,
  ): Promise<{ total: number; letters: { taskId: string; failedAt: number }[] }> {
    const q = this.queue(name);
    const [total, flat] = await Promise.all([
      this.redis.zcard(q.dead),
      this.redis.zrevrange(q.dead, 0, limit - 1, 'WITHSCORES'),
    ]);
    const letters: { taskId: string; failedAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      letters.push({ taskId: String(flat[i]), failedAt: Number(flat[i + 1]) });
    return { total, letters };
  }

  async stats(name: string): Promise<QueueStats> {
    const q = this.queue(name);
    const [byPriority, delayed, active, dead, paused, oldest] = (await this.scripts.stats(
      q.wait,
      q.delayed,
      q.leases,
      q.dead,
      q.paused,
      q.jobPrefix,
    )) as [number[], number, number, number, number, number];
    const waitingByPriority = byPriority.map(Number);
    return {
      waitingByPriority,
      waiting: waitingByPriority.reduce((sum, n) => sum + n, 0),
      delayed: Number(delayed),
      active: Number(active),
      dead: Number(dead),
      paused: Number(paused) === 1,
      oldestWaitingSince: Number(oldest) < 0 ? null : Number(oldest),
    };
  }

  /** R workers cannot block on a marker; they are woken on this channel instead. */
  private wakeOf(): string {
    return this.kind === 'r' ? this.keys.wakeChannel(this.kind) : '';
  }
}

function unexpected(script: string, outcome: ScriptOutcome): Error {
  return new Error(`${script} answered ${outcome}`);
}
