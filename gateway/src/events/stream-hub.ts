/**
 * Reads Redis event streams (each queue's `events`, each workflow's) and fans their entries out to the
 * live-event clients listening in this process. One reader, on a connection of its own, per stream
 * that has listeners, however many listeners it has: a thousand idle SSE clients on one queue cost one
 * blocked XREAD. A reader stops when its last listener leaves.
 *
 * A listener that joins at a stream id first gets what came after it (XRANGE), then the live entries,
 * with none lost or repeated in between: live entries are held back until the catch-up is done.
 */
import { duplicateRedis, type Logger, type Redis } from '@switchyard/shared';

export interface StreamEntry {
  /** The entry's stream id, e.g. `1764615600000-0`: the SSE event id. */
  id: string;
  /** The `task` field as a string, read once per entry however many listeners filter on it. */
  task: string | undefined;
  fields: Map<string, Buffer>;
}

export type EntryListener = (entry: StreamEntry) => void;

/** How long one XREAD blocks; a reader whose listeners all left notices within this. */
const BLOCK_MS = 5_000;
const READ_COUNT = 500;
/** Catching up reads at most this many entries (streams keep about 10,000 anyway). */
const CATCH_UP_LIMIT = 10_000;
/** A subscription that takes the entries of every task. */
const ALL_TASKS = '';

interface Reader {
  /** Listeners by the task they follow; ALL_TASKS for those that take every entry. */
  listeners: Map<string, Set<EntryListener>>;
  count: number;
  connection: Redis;
  stopped: boolean;
}

/** Stream ids compare as `<ms>-<seq>` pairs. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

function entriesOf(reply: [Buffer, Buffer[]][]): StreamEntry[] {
  return reply.map(([id, flat]) => {
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1] as Buffer);
    return { id: String(id), task: fields.get('task')?.toString(), fields };
  });
}

export class StreamHub {
  private readonly readers = new Map<string, Reader>();

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  /** The id of the newest entry of `stream`, or `0-0` when it has none: where a listener starts from "now". */
  async latestId(stream: string): Promise<string> {
    const [newest] = await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  /**
   * Calls `listener` with every entry of `stream` after `afterId`, first those stored, then live ones.
   * Returns the unsubscribe function.
   */
  async subscribe(
    stream: string,
    afterId: string,
    listener: EntryListener,
    onlyTask: string = ALL_TASKS,
  ): Promise<() => void> {
    let caughtUp = false;
    const held: StreamEntry[] = [];
    let lastDelivered = afterId;
    const deliver = (entry: StreamEntry) => {
      if (compareStreamIds(entry.id, lastDelivered) <= 0) return;
      lastDelivered = entry.id;
      listener(entry);
    };
    const live: EntryListener = (entry) => (caughtUp ? deliver(entry) : held.push(entry));
    const unsubscribe = this.join(stream, onlyTask, live);
    try {
      const stored = await this.redis.xrangeBuffer(stream, `(${afterId}`, '+', 'COUNT', CATCH_UP_LIMIT);
      for (const entry of entriesOf(stored)) if (onlyTask === ALL_TASKS || entry.task === onlyTask) deliver(entry);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    caughtUp = true;
    for (const entry of held.splice(0)) deliver(entry);
    return unsubscribe;
  }

  /** Stops every reader (the gateway is shutting down). */
  close(): void {
    for (const [stream, reader] of this.readers) this.stop(stream, reader);
  }

  private join(stream: string, task: string, listener: EntryListener): () => void {
    let reader = this.readers.get(stream);
    if (!reader) {
      // A blocking connection of its own: the request connection's short command timeout would cut XREAD off.
      const connection = duplicateRedis(this.redis, {
        connectionName: 'switchyard-events',
        commandTimeout: BLOCK_MS + 5_000,
        maxRetriesPerRequest: null,
      });
      reader = { listeners: new Map(), count: 0, connection, stopped: false };
      this.readers.set(stream, reader);
      void this.read(stream, reader);
    }
    const joined = reader;
    const group = joined.listeners.get(task) ?? new Set<EntryListener>();
    joined.listeners.set(task, group);
    group.add(listener);
    joined.count += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      group.delete(listener);
      if (group.size === 0) joined.listeners.delete(task);
      joined.count -= 1;
      if (joined.count === 0) this.stop(stream, joined);
    };
  }

  private stop(stream: string, reader: Reader): void {
    reader.stopped = true;
    if (this.readers.get(stream) === reader) this.readers.delete(stream);
    reader.connection.disconnect();
  }

  private async read(stream: string, reader: Reader): Promise<void> {
    let lastId = await this.latestId(stream).catch(() => '$');
    while (!reader.stopped) {
      try {
        const reply = await reader.connection.xreadBuffer(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          stream,
          lastId,
        );
        for (const [, entries] of reply ?? []) {
          for (const entry of entriesOf(entries)) {
            lastId = entry.id;
            // O(listeners of this task), not O(all listeners): a thousand clients on one queue stay cheap.
            for (const listener of [
              ...(reader.listeners.get(ALL_TASKS) ?? []),
              ...((entry.task !== undefined && reader.listeners.get(entry.task)) || []),
            ])
              listener(entry);
          }
        }
      } catch (error) {
        if (reader.stopped) return;
        this.logger.warn('event stream read failed; retrying', { stream, error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }
}
