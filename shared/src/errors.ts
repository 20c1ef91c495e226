/**
 * The one error type every Switchyard component throws on purpose. Each failure kind has a stable
 * `code`; `HTTP_STATUS_BY_CODE` is the only place that decides which HTTP status a code becomes.
 */

export const HTTP_STATUS_BY_CODE = {
  /** The request body is not valid JSON. */
  invalid_json: 400,
  /** The request does not match its schema (missing, extra, wrong-typed or out-of-range field). */
  validation_failed: 422,
  /** The body is not sent as application/json. */
  unsupported_media_type: 415,
  /** The body is larger than BODY_LIMIT. */
  payload_too_large: 413,
  /** No API key (or R service token), or not a configured one. */
  unauthorized: 401,
  /** This caller sent more requests than RATE_LIMIT_PER_MINUTE allows. */
  rate_limited: 429,
  /** No such route. */
  route_not_found: 404,
  /** The route exists, for other methods (the Allow header lists them). */
  method_not_allowed: 405,
  /** No task with that id (never existed, or its record expired). */
  task_not_found: 404,
  /** A task with that id already exists. */
  task_exists: 409,
  /** The task has already finished (SUCCESS, FAILURE or REVOKED): nothing to cancel or requeue. */
  task_finished: 409,
  /** An Idempotency-Key was used before with a different request. */
  idempotency_conflict: 409,
  /** The R service refused the task as invalid. */
  task_rejected: 422,
  /** The queue holds MAX_QUEUE_LENGTH tasks already. */
  queue_full: 429,
  /** No such queue (none of that kind and name has ever been used). */
  queue_not_found: 404,
  /** Redis cannot be reached. */
  redis_unavailable: 503,
  /** The R service cannot be reached, timed out, failed or answered nonsense. */
  r_service_unavailable: 503,
  /** The route exists but cannot do this for this kind of task (e.g. cancel a Celery task). */
  not_supported: 501,
  /** Anything unexpected; details are logged, never sent. */
  internal: 500,
} as const;

export type ErrorCode = keyof typeof HTTP_STATUS_BY_CODE;

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** For validation errors: each offending field as a dotted path, with what must be true of it. */
    fields?: { field: string; message: string }[];
  };
}

export class SwitchyardError extends Error {
  override readonly name = 'SwitchyardError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: {
      fields?: { field: string; message: string }[];
      /** Seconds the client should wait before retrying (sent as Retry-After). */
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
  }

  get httpStatus(): number {
    return HTTP_STATUS_BY_CODE[this.code];
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details.fields) body.error.fields = this.details.fields;
    return body;
  }
}

/** Raised at start-up when an environment variable has a bad value; the message names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
