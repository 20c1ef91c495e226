/**
 * The one error handler: a SwitchyardError becomes its status and JSON body; body-parser's and
 * Redis's failures are translated to their codes; anything else is logged and becomes a plain 500.
 * No stack trace ever reaches a client.
 */
import type { NextFunction, Request, Response } from 'express';
import { ReplyError } from 'ioredis';
import { SwitchyardError, type Logger } from '@switchyard/shared';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  /** entity.too.large: the limit in bytes. */
  limit?: number;
}

export function toSwitchyardError(error: unknown): SwitchyardError | null {
  if (error instanceof SwitchyardError) return error;
  const parserError = error as BodyParserError | null;
  const type = parserError?.type;
  if (type === 'entity.parse.failed') return new SwitchyardError('invalid_json', 'The request body is not valid JSON');
  if (type === 'entity.too.large') {
    const limit = typeof parserError?.limit === 'number' ? `at most ${parserError.limit} bytes` : 'its limit';
    return new SwitchyardError(
      'payload_too_large',
      `The request body is larger than the gateway accepts: ${limit} (BODY_LIMIT_BYTES)`,
    );
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new SwitchyardError('unsupported_media_type', 'Send the request body as UTF-8 JSON');
  }
  return null;
}

/**
 * Replies that say Redis cannot serve now, not that the command was wrong: a cluster missing a
 * master's slots, a slot moving, a server loading its data, a replica cut off from its master, or a
 * connection still on a master that was demoted in a failover.
 */
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY) /;

/**
 * Redis client failures (connection refused, offline, command timeout) and the replies above mean
 * Redis is unavailable; any other ReplyError is Redis refusing a command, which is a bug here, not an
 * outage.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ReplyError) return UNAVAILABLE_REPLY.test(error.message);
  return /Connection is closed|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|MaxRetriesPerRequest|Stream isn't writeable/i.test(
    `${error.name} ${error.message}`,
  );
}

export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    let known = toSwitchyardError(error);
    if (!known && isRedisUnavailable(error)) {
      logger.warn('redis unavailable', { path: req.path, error });
      known = new SwitchyardError('redis_unavailable', 'Redis is unavailable; try again shortly');
    }
    if (!known) {
      logger.error('unexpected error', {
        method: req.method,
        path: req.path,
        error,
        stack: error instanceof Error ? error.stack : undefined,
      });
      known = new SwitchyardError('internal', 'Internal error');
    }
    // A live-event stream that failed after it opened can only be ended (its client reconnects).
    if (res.headersSent) {
      res.end();
      return;
    }
    if (known.details.retryAfterSeconds !== undefined) res.set('Retry-After', String(known.details.retryAfterSeconds));
    res.status(known.httpStatus).json(known.toBody());
  };
}
