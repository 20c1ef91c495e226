/**
 * Delivery options: what a task declares as its defaults (shared/src/tasks.ts) and a request may
 * override within bounds: retries with backoff, soft and hard time limits, and an expiry.
 */
import { z } from 'zod';
import { wholeNumberBetween } from './rules.js';

export const OPTION_LIMITS = {
  maxAttempts: 10,
  maxBackoffMs: 3_600_000,
  maxTimeLimitMs: 86_400_000,
  maxExpiresSeconds: 30 * 86_400,
  /** The latest a task may be scheduled: countdown at most, or eta at most this far ahead. */
  maxDelaySeconds: 30 * 86_400,
  minPriority: 0,
  maxPriority: 9,
  defaultPriority: 5,
} as const;

/** The same words as the R worker's (r-worker/R/options.R); tests/r-worker/options.test.ts compares them. */
const EXPIRES_RULE = 'must be an ISO 8601 date-time or a number of seconds';
const ETA_RULE = 'must be an ISO 8601 date-time';

export const Backoff = z
  .strictObject({
    type: z.enum(['fixed', 'exponential'], { error: 'must be fixed or exponential' }),
    delay_ms: wholeNumberBetween(0, OPTION_LIMITS.maxBackoffMs).meta({
      description: 'Wait before the first retry; exponential doubles it on each further retry.',
    }),
    jitter: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .meta({ description: 'Spread retries randomly over [delay/2, delay] so failed tasks do not retry in lockstep.' }),
  })
  .meta({ id: 'Backoff' });
export type Backoff = z.infer<typeof Backoff>;

export const TaskOptionsRequest = z
  .strictObject({
    max_attempts: wholeNumberBetween(1, OPTION_LIMITS.maxAttempts).optional().meta({
      description: "Attempts before a failing task is given up (FAILURE + dead letter). Default: the task's.",
    }),
    backoff: Backoff.optional(),
    soft_time_limit_ms: wholeNumberBetween(1, OPTION_LIMITS.maxTimeLimitMs)
      .optional()
      .meta({ description: 'After this long the task is told to stop and may clean up.' }),
    time_limit_ms: wholeNumberBetween(1, OPTION_LIMITS.maxTimeLimitMs)
      .optional()
      .meta({ description: 'After this long the task is abandoned: FAILURE "time limit exceeded".' }),
    expires: z
      .union(
        [
          z.iso.datetime({ offset: true, error: EXPIRES_RULE }),
          z.number().positive().max(OPTION_LIMITS.maxExpiresSeconds),
        ],
        { error: EXPIRES_RULE },
      )
      .optional()
      .meta({
        description: 'A date-time, or seconds from now: a task not started by then is REVOKED without running.',
      }),
    priority: wholeNumberBetween(OPTION_LIMITS.minPriority, OPTION_LIMITS.maxPriority)
      .optional()
      .meta({ description: 'Higher runs first (9 first, 0 last); FIFO within a priority. Default 5.' }),
    countdown: z
      .number({ error: 'must be a number of seconds' })
      .min(0, 'must be at least 0')
      .max(OPTION_LIMITS.maxDelaySeconds, `must be at most ${OPTION_LIMITS.maxDelaySeconds}`)
      .optional()
      .meta({ description: 'Run no earlier than this many seconds from now (the task waits in the delayed set).' }),
    eta: z.iso
      .datetime({ offset: true, error: ETA_RULE })
      .optional()
      .meta({ description: 'Run no earlier than this time (ISO 8601); at most 30 days ahead.' }),
  })
  .refine((o) => o.countdown === undefined || o.eta === undefined, {
    message: 'must not be given together with eta',
    path: ['countdown'],
  })
  .refine((o) => o.eta === undefined || !(Date.parse(o.eta) > Date.now() + OPTION_LIMITS.maxDelaySeconds * 1_000), {
    message: 'must be at most 30 days ahead',
    path: ['eta'],
  })
  .refine(
    (o) =>
      o.soft_time_limit_ms === undefined || o.time_limit_ms === undefined || o.soft_time_limit_ms <= o.time_limit_ms,
    { message: 'must not be longer than time_limit_ms', path: ['soft_time_limit_ms'] },
  )
  .meta({ id: 'TaskOptions', description: 'Optional delivery settings; each falls back to the task default.' });
export type TaskOptionsRequest = z.infer<typeof TaskOptionsRequest>;

/** What a task runs with, every option resolved. */
export interface TaskOptions {
  max_attempts: number;
  backoff: Backoff;
  soft_time_limit_ms: number | null;
  time_limit_ms: number | null;
  expires_at: string | null;
  /** 0-9, 9 first. */
  priority: number;
  /** Not to run before this time (countdown or eta), or null. */
  eta: string | null;
}

/** Every option of TaskOptions, in its order (shared/test/stored-payload.test.ts checks that none is missing). */
export const TASK_OPTION_NAMES = [
  'max_attempts',
  'backoff',
  'soft_time_limit_ms',
  'time_limit_ms',
  'expires_at',
  'priority',
  'eta',
] as const satisfies readonly (keyof TaskOptions)[];

export type TaskDefaults = Pick<TaskOptions, 'max_attempts' | 'backoff'> &
  Partial<Pick<TaskOptions, 'soft_time_limit_ms' | 'time_limit_ms'>>;

export const NO_RETRY: TaskDefaults = { max_attempts: 1, backoff: { type: 'fixed', delay_ms: 0, jitter: false } };

export function resolveOptions(
  defaults: TaskDefaults,
  requested: TaskOptionsRequest = {},
  now = Date.now(),
): TaskOptions {
  const expires = requested.expires;
  const eta =
    requested.eta !== undefined
      ? new Date(Date.parse(requested.eta)).toISOString()
      : requested.countdown !== undefined && requested.countdown > 0
        ? new Date(now + Math.round(requested.countdown * 1_000)).toISOString()
        : null;
  return {
    max_attempts: requested.max_attempts ?? defaults.max_attempts,
    backoff: requested.backoff ?? defaults.backoff,
    soft_time_limit_ms: requested.soft_time_limit_ms ?? defaults.soft_time_limit_ms ?? null,
    time_limit_ms: requested.time_limit_ms ?? defaults.time_limit_ms ?? null,
    expires_at:
      expires === undefined
        ? null
        : new Date(typeof expires === 'number' ? now + expires * 1_000 : Date.parse(expires)).toISOString(),
    priority: requested.priority ?? OPTION_LIMITS.defaultPriority,
    eta,
  };
}

/** Milliseconds to wait before retry number `retry` (1 = the first retry). */
export function backoffDelayMs(backoff: Backoff, retry: number, random = Math.random): number {
  const base = backoff.type === 'fixed' ? backoff.delay_ms : backoff.delay_ms * 2 ** Math.max(0, retry - 1);
  const capped = Math.min(base, OPTION_LIMITS.maxBackoffMs);
  return Math.round(backoff.jitter ? capped / 2 + (random() * capped) / 2 : capped);
}
