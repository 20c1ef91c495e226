/**
 * Request validation as middleware keyed by the part of the request it checks, and the one place
 * that turns zod issues into the `fields` of a 422 answer.
 */
import type { NextFunction, Request, Response } from 'express';
import { SwitchyardError } from '@switchyard/shared';
import type { z } from 'zod';

/** Validated input, set by the middleware; handlers read only this. */
export interface Validated {
  body?: unknown;
  query?: unknown;
  headers?: Record<string, unknown>;
}

declare module 'express-serve-static-core' {
  interface Locals {
    validated: Validated;
  }
}

/** zod's own messages ("Invalid input: …", "Too small: …") give way to rules a caller can act on. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too small|Too big|Unrecognized)/;

function describeIssue(issue: z.core.$ZodIssue): string {
  if (/received undefined$/.test(issue.message) || issue.message === 'is required') return 'is required';
  if (!ZOD_DEFAULT_MESSAGE.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${article(issue.expected)}`;
    case 'unrecognized_keys':
      return 'is not an allowed field';
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return issue.inclusive === false ? `must be less than ${issue.maximum}` : `must be at most ${issue.maximum}`;
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${issue.minimum} items`;
      return issue.inclusive === false ? `must be greater than ${issue.minimum}` : `must be at least ${issue.minimum}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Each issue as `{field, message}`; `field` is the dotted path, `(body)` for the body as a whole. */
export function fieldsOf(error: z.ZodError, root: string): { field: string; message: string }[] {
  // An empty key would vanish from a dotted path; it is shown quoted instead.
  const dotted = (path: PropertyKey[]) => path.map((part) => (part === '' ? '""' : String(part))).join('.');
  return error.issues.flatMap((issue) => {
    const message = describeIssue(issue);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: dotted([...issue.path, key]), message }));
    }
    return [{ field: issue.path.length > 0 ? dotted(issue.path) : root, message }];
  });
}

export function validationError(error: z.ZodError, root: string): SwitchyardError {
  const fields = fieldsOf(error, root);
  const summary = fields.map((f) => `${f.field} ${f.message}`).join('; ');
  return new SwitchyardError('validation_failed', `Invalid request: ${summary}`, { fields });
}

/** Validates `req.query` and stores the result in `res.locals.validated.query`. */
export function validateQuery(schema: z.ZodType) {
  return (req: Request, res: Response, next: NextFunction) => {
    const parsed = schema.safeParse(req.query);
    if (!parsed.success) return next(validationError(parsed.error, '(query)'));
    res.locals.validated = { ...res.locals.validated, query: parsed.data };
    next();
  };
}

/**
 * Validates the JSON body with the schema `choose` picks for it (execute has two forms) and stores the
 * result in `res.locals.validated.body`.
 */
export function validateBody(choose: (body: unknown) => z.ZodType) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('application/json')) {
      return next(
        new SwitchyardError(
          'unsupported_media_type',
          'Send the request body as JSON with Content-Type: application/json',
        ),
      );
    }
    const body: unknown = req.body;
    const parsed = choose(body).safeParse(body);
    if (!parsed.success) return next(validationError(parsed.error, '(body)'));
    res.locals.validated = { ...res.locals.validated, body: parsed.data };
    next();
  };
}

/** Validates one request header and stores it under its name in `res.locals.validated.headers`. */
export function validateHeader(name: string, schema: z.ZodType) {
  return (req: Request, res: Response, next: NextFunction) => {
    const parsed = schema.safeParse(req.get(name));
    if (!parsed.success) return next(validationError(parsed.error, name));
    const headers = { ...res.locals.validated?.headers, [name]: parsed.data };
    res.locals.validated = { ...res.locals.validated, headers };
    next();
  };
}
