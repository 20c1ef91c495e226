/**
 * Request validation as middleware keyed by the part of the request it checks, and the one place
 * that turns zod issues into the `fields` of a 422 answer.
 */
import type { NextFunction, Request, Response } from 'express';
import { SwitchyardError } from '@switchyard/shared';
import type { z } from 'zod';

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

/** Anything with zod's safeParse: a schema, or a picker of schemas (`pickSchema`). */
export interface Parser<Output> {
  safeParse(input: unknown): { success: true; data: Output } | { success: false; error: z.ZodError };
}

/** A parser that picks the schema by looking at the input (execute's two forms), typed as `union`. */
export function pickSchema<Union extends z.ZodType>(
  _union: Union,
  pick: (input: unknown) => z.ZodType<z.infer<Union>>,
): Parser<z.infer<Union>> {
  return { safeParse: (input) => pick(input).safeParse(input) };
}

/** The request parts a route validates, each with its schema. */
export interface RequestSchemas {
  body?: Parser<unknown>;
  query?: Parser<unknown>;
  params?: Parser<unknown>;
  headers?: Record<string, Parser<unknown>>;
}

type Out<P> = P extends Parser<infer Output> ? Output : undefined;

/** The validated input a handler receives, typed by its schemas. */
export interface Valid<S extends RequestSchemas> {
  body: Out<S['body']>;
  query: Out<S['query']>;
  params: Out<S['params']>;
  headers: { [Name in keyof S['headers']]: Out<NonNullable<S['headers']>[Name]> };
}

/**
 * A route handler that runs only on valid input: each part of the request is checked with its schema
 * (the body must be JSON), and the handler receives the parsed parts, typed. The first part that
 * fails answers 422 (415 for a body that is not JSON) through the error handler.
 */
export function validated<S extends RequestSchemas>(
  schemas: S,
  handler: (input: Valid<S>, req: Request, res: Response) => Promise<void> | void,
) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const parse = <T>(parser: Parser<T> | undefined, value: unknown, root: string): T | undefined => {
      if (parser === undefined) return undefined;
      const parsed = parser.safeParse(value);
      if (!parsed.success) throw validationError(parsed.error, root);
      return parsed.data;
    };
    try {
      if (schemas.body && !req.is('application/json')) {
        throw new SwitchyardError(
          'unsupported_media_type',
          'Send the request body as JSON with Content-Type: application/json',
        );
      }
      const headers: Record<string, unknown> = {};
      for (const [name, parser] of Object.entries(schemas.headers ?? {}))
        headers[name] = parse(parser, req.get(name), name);
      const input = {
        headers,
        params: parse(schemas.params, req.params, '(path)'),
        query: parse(schemas.query, req.query, '(query)'),
        body: parse(schemas.body, req.body, '(body)'),
      } as Valid<S>; // each part was produced by its own schema above
      await handler(input, req, res);
    } catch (error) {
      next(error);
    }
  };
}
