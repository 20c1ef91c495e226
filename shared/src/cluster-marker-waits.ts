/**
 * Waiting for work on several queues of a Redis Cluster (TaskQueues.waitForWork). A queue's marker
 * lives in its queue's slot, and one BZPOPMIN may only name keys of one slot, so each queue gets a
 * BZPOPMIN of its own, each on a connection of its own (a blocked connection answers nothing else).
 *
 * The waits stand between calls: when one queue's marker wakes the caller, the other queues' BZPOPMINs
 * stay blocked rather than being abandoned, because an abandoned one could still pop a marker that no
 * one then acts on. A marker popped while the caller is busy is kept and handed out by the next call.
 * Closing the caller's blocking connection (a worker stopping) closes these connections and ends a
 * pending wait at once, as it does on one Redis.
 */
import type { Cluster } from 'ioredis';
import { duplicateRedis, type Redis } from './redis.js';

interface Wake {
  queue: string;
  dueAt: number;
}

interface StandingWait {
  connection: Redis;
  /** Set while its BZPOPMIN is sent and unanswered. */
  blocked: boolean;
}

const byConnection = new WeakMap<Cluster, ClusterMarkerWaits>();

export class ClusterMarkerWaits {
  private readonly waits = new Map<string, StandingWait>();
  /** Markers popped and not yet handed out, oldest first. */
  private readonly woken: Wake[] = [];
  private failure: unknown = null;
  private closed = false;
  private notify: (() => void) | null = null;

  private constructor(private readonly blocking: Cluster) {
    blocking.once('end', () => this.close());
  }

  /** The waits that belong to `blocking` (made on first use). */
  static of(blocking: Cluster): ClusterMarkerWaits {
    let waits = byConnection.get(blocking);
    if (!waits) {
      waits = new ClusterMarkerWaits(blocking);
      byConnection.set(blocking, waits);
    }
    return waits;
  }

  /** Like one BZPOPMIN over `markers` (of the queues `names`): the first marker popped, or null after `timeoutSeconds`. */
  async wait(markers: readonly string[], names: readonly string[], timeoutSeconds: number): Promise<Wake | null> {
    if (this.closed) throw new Error('Connection is closed.');
    const ready = this.takeWoken();
    if (ready) return ready;
    markers.forEach((marker, i) => this.arm(marker, names[i] ?? '', timeoutSeconds));
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.notify = resolve;
      timer = setTimeout(resolve, timeoutSeconds * 1_000);
    });
    clearTimeout(timer);
    this.notify = null;
    return this.takeWoken();
  }

  private takeWoken(): Wake | null {
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
    return this.woken.shift() ?? null;
  }

  /** Sends the queue's BZPOPMIN unless one is blocked already. */
  private arm(marker: string, queue: string, timeoutSeconds: number): void {
    let wait = this.waits.get(marker);
    if (!wait) {
      wait = {
        connection: duplicateRedis(this.blocking, { connectionName: 'switchyard-blocking' }),
        blocked: false,
      };
      wait.connection.on('error', () => undefined); // reported by the command that fails
      this.waits.set(marker, wait);
    }
    if (wait.blocked) return;
    const standing = wait;
    standing.blocked = true;
    standing.connection.bzpopmin(marker, timeoutSeconds).then(
      (popped) => {
        standing.blocked = false;
        if (popped !== null) this.woken.push({ queue, dueAt: Number(popped[2]) });
        if (popped !== null) this.notify?.();
      },
      (error: unknown) => {
        standing.blocked = false;
        if (!this.closed) this.failure = error;
        this.notify?.();
      },
    );
  }

  private close(): void {
    this.closed = true;
    for (const { connection } of this.waits.values()) connection.disconnect();
    this.waits.clear();
    this.failure = new Error('Connection is closed.');
    this.notify?.();
  }
}
