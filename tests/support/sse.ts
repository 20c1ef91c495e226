/** Reads server-sent events the way a browser's EventSource does, over fetch, for the tests. */

export interface ServerEvent {
  id: string;
  event: string;
  data: unknown;
}

export interface EventReader {
  /** The HTTP status and content type of the answer. */
  status: number;
  contentType: string;
  /** The next event, or null once the stream has ended. */
  next(timeoutMs?: number): Promise<ServerEvent | null>;
  /** Every event until the stream ends (bounded by `timeoutMs`). */
  rest(timeoutMs?: number): Promise<ServerEvent[]>;
  close(): void;
}

export async function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventReader> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const body = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  const parsed: ServerEvent[] = [];

  const take = (): ServerEvent | null => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end < 0) return null;
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
      }
      if (fields.data !== undefined) {
        return { id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data) };
      }
    }
  };

  const next = async (timeoutMs = 20_000): Promise<ServerEvent | null> => {
    const queued = parsed.shift() ?? take();
    if (queued) return queued;
    if (ended || !body) return null;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        body.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') throw new Error(`no event within ${timeoutMs} ms`);
      if (chunk.done) {
        ended = true;
        return take();
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      const event = take();
      if (event) return event;
    }
  };

  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    next,
    async rest(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const all: ServerEvent[] = [];
      for (;;) {
        const event = await next(Math.max(1, deadline - Date.now()));
        if (event === null) return all;
        all.push(event);
      }
    },
    close() {
      controller.abort();
    },
  };
}
