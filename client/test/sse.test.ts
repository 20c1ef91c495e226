/** The text/event-stream parser against the cases the WHATWG standard spells out. */
import { describe, expect, it } from 'vitest';
import { EventStreamParser, readEventStream } from '../src/sse.js';

describe('EventStreamParser', () => {
  it('reads id, event and data, and keeps the last id for later events', () => {
    const parser = new EventStreamParser();
    const events = parser.push(
      'id: 1-0\nevent: PROGRESS\ndata: {"current":1}\n\nevent: PROGRESS\ndata: {"current":2}\n\n',
    );
    expect(events).toEqual([
      { id: '1-0', event: 'PROGRESS', data: '{"current":1}' },
      { id: '1-0', event: 'PROGRESS', data: '{"current":2}' },
    ]);
  });

  it('completes an event only at its blank line, across chunks cut anywhere (even inside \\r\\n)', () => {
    const text = 'id: 7-1\r\nevent: SUCCESS\r\ndata: {"a":\r\ndata: 1}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new EventStreamParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([{ id: '7-1', event: 'SUCCESS', data: '{"a":\n1}' }]);
    }
  });

  it('skips comments (keep-alives) and events without data, and takes retry', () => {
    const parser = new EventStreamParser();
    expect(parser.push(': keep-alive\n\nretry: 1000\n\nevent: nothing\n\n')).toEqual([]);
    expect(parser.retryMs).toBe(1000);
    expect(parser.push('data\n\n')).toEqual([{ id: undefined, event: 'message', data: '' }]);
  });

  it('drops a leading byte order mark and only one space after the colon', () => {
    const parser = new EventStreamParser();
    expect(parser.push('\uFEFFdata:  two spaces\n\n')).toEqual([
      { id: undefined, event: 'message', data: ' two spaces' },
    ]);
  });

  it('reads a byte stream with multi-byte characters split between chunks', async () => {
    const bytes = new TextEncoder().encode('data: {"status":"Schritt 1 von 3 — ✓"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 5) controller.enqueue(bytes.slice(i, i + 5));
        controller.close();
      },
    });
    const events = [];
    for await (const event of readEventStream(body)) events.push(event);
    expect(events).toEqual([{ id: undefined, event: 'message', data: '{"status":"Schritt 1 von 3 — ✓"}' }]);
  });
});
