/**
 * The Node task queue: a Redis list with leases, giving at-least-once delivery.
 *
 *   enqueue ──LPUSH──▶ queue ──claim (LMOVE, or BLMOVE when idle)──▶ active + lease ──finish──▶ gone
 *                        ▲                                              │
 *                        └──────── requeueExpired (lease ran out) ◀─────┘
 *
 * Every multi-key change is one Lua script in shared/lua (file name = number of keys), so a worker
 * killed between two commands cannot leave a task half-moved. A worker's writes carry its token, and a
 * worker whose lease was taken over can no longer write the record or acknowledge the task.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { codec } from './codec.js';
import type { KeyLayout } from './keys.js';
import type { TaskRecord } from './status.js';

/** What travels with a queued task id. */
export interface TaskPayload {
  task: string;
  args: unknown[];
  created_at: string;
}

export interface ClaimedTask {
  taskId: string;
  payload: TaskPayload;
  /** 1 on first delivery, more on redelivery. */
  attempts: number;
}

const SCRIPTS = {
  enqueue: 'enqueue-3',
  claim: 'claim-3',
  extendLeases: 'extend-leases-1',
  writeRecord: 'write-record-2',
  finish: 'finish-4',
  release: 'release-5',
  requeueExpired: 'requeue-expired-3',
} as const;

type ScriptName = keyof typeof SCRIPTS;
/** Scripts whose reply carries MessagePack, so it must come back as Buffers, not UTF-8 strings. */
const BINARY_REPLIES: ReadonlySet<ScriptName> = new Set(['claim']);
type ScriptCaller = (...keysThenArgs: (string | number | Buffer)[]) => Promise<unknown>;

/** Defines the scripts on a connection once (ioredis then uses EVALSHA, falling back to EVAL). */
function defineScripts(redis: Redis): Record<ScriptName, ScriptCaller> {
  const callers = {} as Record<ScriptName, ScriptCaller>;
  for (const [name, file] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
    const commandName = `switchyard_${name}`;
    if (!(commandName in redis)) {
      const lua = readFileSync(new URL(`../lua/${file}.lua`, import.meta.url), 'utf8');
      redis.defineCommand(commandName, { numberOfKeys: Number(file.split('-').pop()), lua });
    }
    const variant = BINARY_REPLIES.has(name) ? `${commandName}Buffer` : commandName;
    const command = (redis as unknown as Record<string, ScriptCaller>)[variant];
    if (!command) throw new Error(`script ${file} was not defined`);
    callers[name] = command.bind(redis);
  }
  return callers;
}

export class NodeQueue {
  private readonly scripts: Record<ScriptName, ScriptCaller>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeyLayout,
    private readonly recordTtlSeconds: number,
  ) {
    this.scripts = defineScripts(redis);
  }

  /** Accepts a task: its PENDING record, payload and queue entry appear together or not at all. */
  async enqueue(record: TaskRecord): Promise<void> {
    const payload: TaskPayload = { task: record.task, args: record.args, created_at: record.created_at };
    await this.scripts.enqueue(
      this.keys.task(record.task_id),
      this.keys.job(record.task_id),
      this.keys.nodeQueue,
      record.task_id,
      codec.encode(record),
      codec.encode(payload),
      this.recordTtlSeconds,
    );
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
    for (let i = 0; i + 2 < flat.length; i += 3) {
      claimed.push({
        taskId: String(flat[i]),
        payload: codec.decode(flat[i + 1] as Buffer) as TaskPayload,
        attempts: Number(flat[i + 2]),
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

  /** Renews the leases of running tasks; returns the ids whose lease was lost. */
  async extendLeases(taskIds: readonly string[], token: string, leaseMs: number): Promise<string[]> {
    if (taskIds.length === 0) return [];
    return (await this.scripts.extendLeases(
      this.keys.nodeLeases,
      Date.now() + leaseMs,
      token,
      this.keys.jobPrefix,
      ...taskIds,
    )) as string[];
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

  /** Acknowledges a task with its terminal record; false if the lease is lost. */
  async finish(record: TaskRecord, token: string): Promise<boolean> {
    const done = await this.scripts.finish(
      this.keys.nodeActive,
      this.keys.nodeLeases,
      this.keys.job(record.task_id),
      this.keys.task(record.task_id),
      record.task_id,
      token,
      codec.encode(record),
      this.recordTtlSeconds,
    );
    return done === 1;
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

  /** Redelivers the tasks whose lease ran out; returns their ids. */
  async requeueExpired(leaseMs: number, limit = 1_000): Promise<string[]> {
    return (await this.scripts.requeueExpired(
      this.keys.nodeActive,
      this.keys.nodeLeases,
      this.keys.nodeQueue,
      Date.now(),
      leaseMs,
      this.keys.jobPrefix,
      limit,
    )) as string[];
  }

  /** Tasks waiting, and tasks taken but not yet acknowledged. */
  async depth(): Promise<{ queued: number; active: number }> {
    const [queued, active] = await Promise.all([
      this.redis.llen(this.keys.nodeQueue),
      this.redis.llen(this.keys.nodeActive),
    ]);
    return { queued, active };
  }
}
