/**
 * Follows one of the gateway's event streams across dropped connections: on a drop it reconnects
 * with `Last-Event-ID`, so the gateway replays what was missed and no terminal state is lost. Bounded:
 * after `maxReconnects` failed attempts in a row (no event in between) it gives up.
 */
import { GatewayError, GatewayUnreachableError } from './errors.js';
import { EventStreamParser, readEventStream, type ServerSentEvent } from './sse.js';

export interface FollowOptions {
  url: string;
  headers: Record<string, string>;
  /** The gateway's base URL, for the "cannot reach" message. */
  gatewayUrl: string;
  signal?: AbortSignal;
  /** The stream is complete after this event (a task's terminal state); no reconnect after it. */
  isLast?: (event: ServerSentEvent) => boolean;
  /** Attempts in a row that may fail before giving up (default 8, about 40 s of trying). */
  maxReconnects?: number;
}

/** Answers worth retrying: the gateway (or a proxy in front of it) is briefly unable to serve. */
const RETRYABLE_STATUS = new Set([502, 503, 504]);

/** Waits before reconnect n (1-based): the server's `retry:` (else 250 ms), doubling, at most 5 s. */
function reconnectDelayMs(attempt: number, serverRetryMs: number | undefined): number {
  return Math.min(5_000, (serverRetryMs ?? 250) * 2 ** (attempt - 1));
}

/** A connection that stayed open this long was healthy, even if the queue was quiet the whole time. */
const HEALTHY_CONNECTION_MS = 10_000;

export async function* followEventStream(options: FollowOptions): AsyncGenerator<ServerSentEvent> {
  const maxReconnects = options.maxReconnects ?? 8;
  const stop = new AbortController(); // ends the open request when the caller stops iterating
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const unreachable = (cause: unknown) => new GatewayUnreachableError(options.gatewayUrl, cause);
  let lastEventId: string | undefined;
  let serverRetryMs: number | undefined;
  let failures = 0;
  let lastFailure: unknown;
  try {
    while (failures <= maxReconnects) {
      if (failures > 0) await sleep(reconnectDelayMs(failures, serverRetryMs), signal);
      let response: Response;
      try {
        response = await fetch(options.url, {
          headers: {
            accept: 'text/event-stream',
            ...options.headers,
            ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
          },
          signal,
        });
      } catch (error) {
        signal.throwIfAborted();
        lastFailure = unreachable(error);
        failures++;
        continue;
      }
      if (!response.ok) {
        const error = await GatewayError.from(response);
        if (!RETRYABLE_STATUS.has(response.status)) throw error;
        lastFailure = error;
        failures++;
        continue;
      }
      if (!response.body)
        throw new GatewayError(response.status, 'unexpected_response', 'The event stream has no body');
      const parser = new EventStreamParser();
      const openedAt = Date.now();
      lastFailure = unreachable(new Error('the event stream closed before its end'));
      try {
        for await (const event of readEventStream(response.body, parser)) {
          failures = 0;
          lastEventId = event.id ?? lastEventId;
          yield event;
          if (options.isLast?.(event)) return;
        }
      } catch (error) {
        signal.throwIfAborted();
        lastFailure = unreachable(error);
      }
      // The stream ended, or broke, before its last event: reconnect and resume after lastEventId.
      serverRetryMs = parser.retryMs ?? serverRetryMs;
      failures = Date.now() - openedAt >= HEALTHY_CONNECTION_MS ? 1 : failures + 1;
    }
    throw lastFailure;
  } finally {
    stop.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
