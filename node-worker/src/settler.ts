/**
 * A worker's acknowledgements, batched per queue. A finished task's terminal record is sent at once
 * when its queue has no call out, else it waits for that call's answer and goes with everything that
 * finished meanwhile, in one finish-claim-10 call that also takes new tasks into the slots the batch
 * frees. Under load one call settles and refills many slots (the script's own cost and the round trip
 * are shared); with little load a task waits for nothing but the current turn of the event loop.
 */
import type { ClaimedTask, FinishedTask, TaskQueues, TaskRecord } from '@switchyard/shared';

interface Waiting extends FinishedTask {
  settled(acknowledged: boolean): void;
  failed(error: unknown): void;
}

export interface SettlerOptions {
  queues: TaskQueues;
  token: string;
  leaseMs: number;
  /** How many tasks of queue `name` to take along with `freed` acknowledgements (0: none). */
  refillCount(name: string, freed: number): number;
  /** Tasks taken along with acknowledgements, to run. */
  taken(tasks: ClaimedTask[]): void;
}

/**
 * Calls out at once per queue. Two, so that Redis runs one batch while the worker prepares the next
 * (with one, each waits for the other in turn).
 */
const CALLS_OUT_PER_QUEUE = 2;

export class Settler {
  private readonly waiting = new Map<string, Waiting[]>();
  /** Calls out per queue. */
  private readonly sending = new Map<string, number>();
  private readonly scheduled = new Set<string>();

  constructor(private readonly options: SettlerOptions) {}

  /** Acknowledges a task with its terminal record; false if its lease was lost (another worker owns it). */
  finish(record: TaskRecord, deadLetter: boolean): Promise<boolean> {
    return new Promise<boolean>((settled, failed) => {
      const name = record.queue;
      const batch = this.waiting.get(name);
      const entry = { record, deadLetter, settled, failed };
      if (batch) batch.push(entry);
      else this.waiting.set(name, [entry]);
      this.schedule(name);
    });
  }

  /** Sends queue `name`'s batch after this turn of the event loop (so tasks ending together go together). */
  private schedule(name: string): void {
    if ((this.sending.get(name) ?? 0) >= CALLS_OUT_PER_QUEUE || this.scheduled.has(name)) return;
    this.scheduled.add(name);
    setImmediate(() => {
      this.scheduled.delete(name);
      void this.send(name);
    });
  }

  private async send(name: string): Promise<void> {
    const batch = this.waiting.get(name);
    if (!batch || batch.length === 0) return;
    this.waiting.delete(name);
    this.sending.set(name, (this.sending.get(name) ?? 0) + 1);
    const { queues, token, leaseMs } = this.options;
    try {
      const max = this.options.refillCount(name, batch.length);
      const turn = await queues.finishAndClaim(name, batch, token, { max, leaseMs });
      // The new tasks start before the finished ones leave the worker's slots: never more at once
      // than the worker asked for, and the slots are never seen free meanwhile.
      if (turn.tasks.length > 0) this.options.taken(turn.tasks);
      batch.forEach((entry, i) => entry.settled(turn.acknowledged[i] === true));
    } catch (error) {
      for (const entry of batch) entry.failed(error);
    } finally {
      this.sending.set(name, (this.sending.get(name) ?? 1) - 1);
      if (this.waiting.has(name)) this.schedule(name);
    }
  }
}
