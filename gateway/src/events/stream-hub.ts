/**
 * Reads Redis event streams (each queue's `events`, each workflow's) and fans their entries out to the
 * live-event clients listening in this process. One reader, on a connection of its own, per stream
 * that has listeners, however many listeners it has: a thousand idle SSE clients on one queue cost one
 * blocked XREAD. A reader stops when its last listener leaves.
 *
 * A listener that joins at a stream id first gets what came after it (XRANGE), then the live entries,
 * with none lost or repeated in between: live entries are held back until the catch-up is done.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '@switchyard/shared';

export interface StreamEntry {
  /** The entry's stream id, e.g. `1764615600000-0`: the SSE event id. */
  id: string;
  fields: Map<string, Buffer>;
}

export type EntryListener = (entry: StreamEntry) => void;

/** How long one XREAD blocks; a reader whose listeners all left notices within this. */
const BLOCK_MS = 5_000;
const READ_COUNT = 500;
/** Catching up reads at most this many entries (streams keep about 10,000 anyway). */
const CATCH_UP_LIMIT = 10_000;

interface Reader {
  listeners: Set<EntryListener>;
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
    return { id: String(id), fields };
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
  async subscribe(stream: string, afterId: string, listener: EntryListener): Promise<() => void> {
    let caughtUp = false;
    const held: StreamEntry[] = [];
    let lastDelivered = afterId;
    const deliver = (entry: StreamEntry) => {
      if (compareStreamIds(entry.id, lastDelivered) <= 0) return;
      lastDelivered = entry.id;
      listener(entry);
    };
    const live: EntryListener = (entry) => (caughtUp ? deliver(entry) : held.push(entry));
    const unsubscribe = this.join(stream, live);
    try {
      const stored = await this.redis.xrangeBuffer(stream, `(${afterId}`, '+', 'COUNT', CATCH_UP_LIMIT);
      for (const entry of entriesOf(stored)) deliver(entry);
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

  private join(stream: string, listener: EntryListener): () => void {
    let reader = this.readers.get(stream);
    if (!reader) {
      // A blocking connection of its own: the request connection's short command timeout would cut XREAD off.
      const connection = this.redis.duplicate({
        connectionName: 'switchyard-events',
        commandTimeout: BLOCK_MS + 5_000,
        maxRetriesPerRequest: null,
      });
      reader = { listeners: new Set(), connection, stopped: false };
      this.readers.set(stream, reader);
      void this.read(stream, reader);
    }
    reader.listeners.add(listener);
    const joined = reader;
    return () => {
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0) this.stop(stream, joined);
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
            for (const listener of reader.listeners) listener(entry);
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
