/**
 * Server-sent events on an Express response: the headers, one `id`/`event`/`data` block per event,
 * keep-alive comments so proxies and idle-timeouts leave a quiet stream open, and one close path
 * whichever side ends it.
 */
import type { Request, Response } from 'express';

/** A comment line this often keeps an idle stream open through proxies. */
const KEEP_ALIVE_MS = 15_000;
/** What EventSource waits before reconnecting when the stream drops. */
const RECONNECT_MS = 1_000;

export interface EventStream {
  send(id: string, event: string, data: unknown): void;
  /** Ends the stream (the task or workflow ended, or the server is stopping). */
  end(): void;
  /** Called once when the stream ends, by either side. */
  onClose(listener: () => void): void;
  readonly closed: boolean;
}

/**
 * Opens the stream. It stays in `open` while it lasts, so a gateway that is stopping can end every
 * stream at once (clients reconnect elsewhere with Last-Event-ID) instead of waiting for them.
 */
export function openEventStream(req: Request, res: Response, open: Set<EventStream>): EventStream {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // nginx and similar proxies buffer responses unless told not to.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write(`retry: ${RECONNECT_MS}\n\n`);
  const closeListeners: (() => void)[] = [];
  let closed = false;
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  keepAlive.unref();
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const listener of closeListeners.splice(0)) listener();
  };
  req.on('close', close);
  res.on('close', close);
  const stream: EventStream = {
    send(id, event, data) {
      if (closed) return;
      // JSON has no raw newlines, so the data is one `data:` line.
      res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (closed) return;
      res.end();
      close();
    },
    onClose(listener) {
      if (closed) listener();
      else closeListeners.push(listener);
    },
    get closed() {
      return closed;
    },
  };
  open.add(stream);
  closeListeners.push(() => open.delete(stream));
  return stream;
}
