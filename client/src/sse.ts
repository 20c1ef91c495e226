/**
 * A text/event-stream parser, as the WHATWG HTML standard defines it (§9.2 "Server-sent events"), fed
 * from fetch's body stream. Written here rather than using EventSource because EventSource cannot send
 * an API key header, does not exist in Node 20, and hides why a connection failed.
 */

export interface ServerSentEvent {
  /** The last `id:` seen on the stream, carried by this and later events (the spec's "last event ID"). */
  id: string | undefined;
  /** `event:`, or "message" when the event named none. */
  event: string;
  /** Every `data:` line of the event, joined with "\n". */
  data: string;
}

/** Incremental parser: `push` text as it arrives, get back the events it completed. */
export class EventStreamParser {
  private buffer = '';
  private sawFirstChunk = false;
  private data: string[] = [];
  private eventName = '';
  private lastEventId: string | undefined;
  /** The server's `retry:` in milliseconds, if it sent one. */
  retryMs: number | undefined;

  push(chunk: string): ServerSentEvent[] {
    if (!this.sawFirstChunk) {
      this.sawFirstChunk = true;
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1);
    }
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    // Lines end with \r\n, \n or \r. A \r at the very end may be the first half of a \r\n: keep it.
    const lineEnd = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    for (let match = lineEnd.exec(this.buffer); match !== null; match = lineEnd.exec(this.buffer)) {
      const event = this.line(this.buffer.slice(start, match.index));
      if (event) events.push(event);
      start = match.index + match[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // a comment: the gateway's keep-alives
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventName = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const data = this.data;
    const event = this.eventName || 'message';
    this.data = [];
    this.eventName = '';
    if (data.length === 0) return undefined;
    return { id: this.lastEventId, event, data: data.join('\n') };
  }
}

/** The events of one response body, in order, until the body ends (an event cut off mid-way is dropped). */
export async function* readEventStream(
  body: ReadableStream<Uint8Array>,
  parser = new EventStreamParser(),
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    // Stops the download when the caller stops early; the promise is settled by cancel itself.
    reader.cancel().catch(() => {});
  }
}
