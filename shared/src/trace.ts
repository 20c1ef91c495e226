/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` a caller sends with a
 * task is kept in its record and payload, so the worker that runs it, in any language, logs the
 * task's lines with the same trace id, and one trace crosses gateway, queue and worker. A task
 * submitted without one starts a trace of its own.
 */
import { randomUUID } from 'node:crypto';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The header's traceparent if it is a valid one, else null. As the standard asks, an invalid header
 * is ignored (a new trace starts) rather than refused: proxies on the way may have mangled it.
 */
export function acceptTraceparent(header: string | undefined): string | null {
  const match = TRACEPARENT.exec(header?.trim().toLowerCase() ?? '');
  if (!match) return null;
  const [, version = '', traceId = '', parentId = '', flags = '', rest] = match;
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentId)) return null;
  // Version 00 has exactly four parts; a later version may add more, of which 00 keeps the first four.
  if (version === '00' && rest !== undefined) return null;
  return `${version}-${traceId}-${parentId}-${flags}`;
}

/**
 * A new trace (sampled), for a task submitted without a traceparent. Its ids come from randomUUID,
 * which Node serves from a pre-filled random pool (about 20 times cheaper per request than two
 * randomBytes calls, bench/README.md): 122 random bits for the trace id, 64 for the parent id.
 */
export function newTraceparent(): string {
  const traceId = randomUUID().replaceAll('-', '');
  const parentId = randomUUID().replaceAll('-', '').slice(16);
  return `00-${traceId}-${parentId}-01`;
}

/** The trace id of a traceparent (what log lines carry), or null. */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  return traceparent?.split('-')[1] ?? null;
}
