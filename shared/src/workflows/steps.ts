/**
 * The queue operations that only workflows use, for one worker kind: release a held step into its
 * queue, and read and clear a queue's handoffs outbox. Beside TaskQueues (queue.ts), on the same
 * keys and with the same script loader.
 */
import type { Redis } from '../redis.js';
import { storePayload } from '../stored-payload.js';
import { encodeRecord } from '../stored-record.js';
import type { KeyLayout } from '../keys.js';
import { defineLuaScripts, type ScriptCaller } from '../lua.js';
import type { TaskPayload } from '../queue.js';
import { scriptOutcome, type ScriptOutcome } from '../script-codes.js';
import type { TaskRecord } from '../status.js';
import type { WorkerKind } from '../tasks.js';

export class WorkflowSteps {
  private readonly releaseScript: ScriptCaller;

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeyLayout,
    private readonly kind: WorkerKind,
    private readonly recordTtlSeconds: number,
  ) {
    this.releaseScript = defineLuaScripts(redis, { release: 'release-held-7' }).release;
  }

  /**
   * Releases a held step with its final `record` and `payload` (arguments handed on included): it
   * joins its queue. Idempotent; `no_such_task` when it was cancelled (or never held).
   */
  async release(record: TaskRecord, payload: TaskPayload): Promise<ScriptOutcome> {
    const q = this.keys.queue(this.kind, record.queue);
    const now = Date.now();
    return scriptOutcome(
      await this.releaseScript(
        q.job(record.task_id),
        q.task(record.task_id),
        q.wait,
        q.delayed,
        q.marker,
        q.seq,
        q.events,
        record.task_id,
        storePayload(this.kind, payload).payload,
        encodeRecord(record),
        this.recordTtlSeconds,
        payload.options.eta === null ? 0 : Date.parse(payload.options.eta),
        now,
        // R services cannot block on the marker: they are woken on their kind's channel.
        this.kind === 'r' ? this.keys.wakeChannel(this.kind) : '',
        q.id,
      ),
    );
  }

  /** Steps of queue `name` that ended and are not handed on yet (the outbox), oldest first. */
  async handoffs(name: string, limit = 100): Promise<string[]> {
    return this.redis.zrange(this.keys.queue(this.kind, name).handoffs, 0, limit - 1);
  }

  /** The hand-off of `taskId` is done: its workflow took note and started what follows. */
  async handedOff(name: string, taskId: string): Promise<void> {
    await this.redis.zrem(this.keys.queue(this.kind, name).handoffs, taskId);
  }
}
