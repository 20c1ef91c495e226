/**
 * What the client throws on purpose. `GatewayError` is the gateway's own JSON error with its HTTP
 * status; the others are the failures a caller of a job queue must tell apart: the gateway could not
 * be reached, the task ended without a result, a wait ran out of time.
 */
import type { TaskRecord } from '@switchyard/shared';

/** Every error below, so `catch (e) { if (e instanceof SwitchyardClientError) … }` catches only ours. */
export class SwitchyardClientError extends Error {
  override readonly name: string = 'SwitchyardClientError';
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** The gateway answered with an error: `{"error": {"code", "message", "fields"?}}` and a 4xx or 5xx status. */
export class GatewayError extends SwitchyardClientError {
  override readonly name = 'GatewayError';

  constructor(
    /** The HTTP status. */
    readonly status: number,
    /** The gateway's stable error code (`validation_failed`, `task_not_found`, …). */
    readonly code: string,
    message: string,
    /** For validation errors: each offending field (dotted path) and what must be true of it. */
    readonly fields: readonly FieldProblem[] = [],
  ) {
    super(message);
  }

  /** The first offending field, if the gateway named one. */
  get field(): string | undefined {
    return this.fields[0]?.field;
  }

  /** Reads an error answer; an answer that is not the gateway's error JSON keeps its status and text. */
  static async from(response: Response): Promise<GatewayError> {
    const text = await response.text().catch(() => '');
    const body = parseJson(text);
    const error = isObject(body) && isObject(body.error) ? body.error : undefined;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      const fields = Array.isArray(error.fields) ? error.fields.filter(isFieldProblem) : [];
      return new GatewayError(response.status, error.code, error.message, fields);
    }
    const detail = text.trim().slice(0, 200) || response.statusText;
    return new GatewayError(response.status, 'unexpected_response', `HTTP ${response.status}: ${detail}`);
  }
}

/** fetch itself failed: nothing listens at the URL, DNS, a refused or reset connection. */
export class GatewayUnreachableError extends SwitchyardClientError {
  override readonly name = 'GatewayUnreachableError';

  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach the gateway at ${url}: ${describeCause(cause)}`, { cause });
  }
}

/** The task ended FAILURE or REVOKED; `record` is its final record (`error` says why). */
export class TaskFailedError extends SwitchyardClientError {
  override readonly name = 'TaskFailedError';

  constructor(readonly record: TaskRecord) {
    const why = record.state === 'REVOKED' ? 'was cancelled' : `failed: ${record.error ?? 'no error recorded'}`;
    super(`${record.worker} task ${record.task} (${record.task_id}) ${why}`);
  }
}

/** `wait`'s `timeoutMs` passed before the task (or workflow) ended; it may still end later. */
export class WaitTimeoutError extends SwitchyardClientError {
  override readonly name = 'WaitTimeoutError';

  constructor(
    readonly id: string,
    readonly timeoutMs: number,
  ) {
    super(`${id} did not finish within ${timeoutMs} ms`);
  }
}

/** undici puts the reason (ECONNREFUSED …) in `cause`; "fetch failed" alone tells a person nothing. */
function describeCause(cause: unknown): string {
  let reason = cause;
  for (let depth = 0; depth < 4; depth++) {
    if (reason instanceof AggregateError && reason.errors.length > 0) reason = reason.errors[0];
    else if (reason instanceof Error && reason.cause !== undefined) reason = reason.cause;
    else break;
  }
  if (!(reason instanceof Error)) return String(reason);
  const code = 'code' in reason && typeof reason.code === 'string' ? reason.code : undefined;
  return reason.message || code || reason.name;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFieldProblem(value: unknown): value is FieldProblem {
  return isObject(value) && typeof value.field === 'string' && typeof value.message === 'string';
}
