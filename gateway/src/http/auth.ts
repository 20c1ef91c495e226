/**
 * API keys. When keys are configured every request must carry one (`Authorization: Bearer <key>` or
 * `X-API-Key: <key>`), except the open paths. Keys are compared as SHA-256 digests in constant time,
 * against every configured key, so neither timing nor early exit tells how close a guess was. The
 * caller's identity (`res.locals.caller`, a digest prefix, never the key) scopes rate limits and
 * idempotency keys.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { SwitchyardError } from '@switchyard/shared';
import { EVENT_STREAM_PATH } from './event-schemas.js';

declare module 'express-serve-static-core' {
  interface Locals {
    /** Who is calling: `key:<digest prefix>`, or `ip:<address>` when no keys are configured. */
    caller: string;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function presentedKey(req: Request): string | undefined {
  // EventSource cannot send headers: the live-event streams also take the key as ?api_key=.
  const fromQuery = req.method === 'GET' && EVENT_STREAM_PATH.test(req.path) ? req.query.api_key : undefined;
  if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery;
  const header = req.get('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  return req.get('x-api-key')?.trim();
}

export function authenticate(apiKeys: readonly string[], isOpenPath: (path: string) => boolean) {
  const known = apiKeys.map((key) => ({ digest: digest(key), id: `key:${digest(key).toString('hex').slice(0, 16)}` }));
  return (req: Request, res: Response, next: NextFunction) => {
    if (known.length === 0) {
      res.locals.caller = `ip:${req.ip ?? 'unknown'}`;
      return next();
    }
    if (isOpenPath(req.path)) {
      res.locals.caller = 'open';
      return next();
    }
    const key = presentedKey(req);
    const given = digest(key ?? '');
    let caller: string | undefined;
    for (const candidate of known) {
      if (timingSafeEqual(given, candidate.digest) && key !== undefined) caller = candidate.id;
    }
    if (caller === undefined) {
      res.set('WWW-Authenticate', 'Bearer realm="switchyard"');
      return next(
        new SwitchyardError(
          'unauthorized',
          key === undefined
            ? 'An API key is required: send Authorization: Bearer <key> or X-API-Key: <key>'
            : 'The API key is not valid',
        ),
      );
    }
    res.locals.caller = caller;
    next();
  };
}
