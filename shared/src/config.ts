/**
 * Configuration from environment variables. Each process declares the variables it reads (with
 * defaults, documented here and in README's table) and validates them once at start-up; a bad value
 * stops the process with a message naming the variable and what it must be.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { KEY_PREFIX_PATTERN } from './keys.js';
import { parseQueueList, parseTaskRoutes } from './routing.js';

function wholeNumber(defaultValue: number, min: number, max: number) {
  const rule = `must be a whole number between ${min} and ${max}`;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, rule)
    .default(String(defaultValue))
    .transform(Number)
    .pipe(z.number().min(min, rule).max(max, rule));
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z.enum(values, { error: `must be one of: ${values.join(', ')}` }).default(defaultValue);
}

function url(defaultValue: string, protocols: readonly string[]) {
  const rule = `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return z
    .string()
    .trim()
    .default(defaultValue)
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, rule);
}

/** A value parsed by `parse`, whose Error message says what must be true. */
function parsedBy<T>(defaultValue: string, parse: (text: string) => T) {
  return z
    .string()
    .default(defaultValue)
    .transform((text, ctx) => {
      try {
        return parse(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    });
}

/** The token the gateway shows the R service: long enough that guessing is hopeless. */
const serviceToken = z
  .string()
  .default('')
  .refine(
    (value) => value === '' || /^[\x21-\x7e]{32,256}$/.test(value),
    'must be 32-256 printable characters without spaces',
  );

/** Read by every process that talks to Redis. */
export const RedisEnv = {
  /** Redis to use; `rediss://` for TLS, `redis://:password@host:port/db` for a password. */
  REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  KEY_PREFIX: z
    .string()
    .default('switchyard')
    .refine((v) => KEY_PREFIX_PATTERN.test(v), "must be 1-64 letters, digits, '_', '.' or '-'"),
  /** How long a task's status record is kept after its last change. */
  RESULT_TTL_SECONDS: wholeNumber(86_400, 60, 30 * 86_400),
  /** Least severe log level written. */
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error'], 'info'),
};

export const GatewayEnv = z.object({
  ...RedisEnv,
  /** Interface the gateway listens on. */
  HOST: z.string().trim().min(1, 'must not be empty').default('0.0.0.0'),
  /** Port the gateway listens on. */
  PORT: wholeNumber(9000, 1, 65_535),
  /** Largest accepted request body; larger bodies get 413. */
  BODY_LIMIT_BYTES: wholeNumber(1_048_576, 1_024, 16 * 1_048_576),
  /** A Redis command that takes longer fails the request with 503 instead of hanging. */
  REDIS_COMMAND_TIMEOUT_MS: wholeNumber(2_000, 50, 60_000),
  /** Base URL of the R worker service. */
  R_SERVICE_URL: url('http://127.0.0.1:8000', ['http:', 'https:']),
  /** How long the gateway waits for the R service to accept a task before answering 503. */
  R_REQUEST_TIMEOUT_MS: wholeNumber(5_000, 50, 120_000),
  /** How long shutdown waits for open requests before closing anyway. */
  SHUTDOWN_GRACE_MS: wholeNumber(10_000, 0, 600_000),
  /**
   * Comma-separated API keys; when set, every route but /healthz, /readyz (and /docs, see DOCS_PUBLIC)
   * needs one as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Empty: no authentication.
   */
  API_KEYS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((key) => key.trim())
        .filter((key) => key.length > 0),
    )
    .refine(
      (keys) => keys.every((key) => /^[\x21-\x7e]{16,256}$/.test(key)),
      'must be keys of 16-256 printable characters without spaces, separated by commas',
    ),
  /** Whether /docs and /openapi.json are open without an API key. */
  DOCS_PUBLIC: oneOf(['true', 'false'], 'true').transform((value) => value === 'true'),
  /**
   * Whether GET /metrics is open without an API key when API_KEYS is set (docs/metrics.md). Default
   * false: queue names and task counts are the operator's business; Prometheus can send a key as a
   * bearer token.
   */
  METRICS_PUBLIC: oneOf(['true', 'false'], 'false').transform((value) => value === 'true'),
  /**
   * Longest a scrape of /metrics waits for the figures it reads from Redis (queues, task outcomes);
   * past it the scrape answers without them and switchyard_metrics_redis_up is 0.
   */
  METRICS_READ_TIMEOUT_MS: wholeNumber(5_000, 100, 60_000),
  /**
   * Requests one caller (API key, or address without keys) may make per minute to the task routes;
   * 0 = no limit, the default: a script submitting a batch on a laptop should not meet 429s.
   */
  RATE_LIMIT_PER_MINUTE: wholeNumber(0, 0, 1_000_000),
  /** Queue by task name (Celery's task_routes): `factorial=cpu,matmul=cpu`, or `r:lm_fit=models` for one kind. */
  TASK_ROUTES: parsedBy('', parseTaskRoutes),
  /** Most tasks one Node queue may hold waiting or delayed; beyond it execute answers 429. 0 = no bound. */
  MAX_QUEUE_LENGTH: wholeNumber(0, 0, 100_000_000),
  /** Shown to the R service on every call (it must be the R service's R_SERVICE_TOKEN); empty: none. */
  R_SERVICE_TOKEN: serviceToken,
  /**
   * Celery's Redis broker (and result backend): when set, /celery/execute and /celery/collect reach
   * real Celery workers instead of being an alias of /node. Empty: off.
   */
  CELERY_BROKER_URL: z
    .string()
    .trim()
    .default('')
    .refine((value) => {
      if (value === '') return true;
      try {
        return ['redis:', 'rediss:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be empty or a URL starting with redis:// or rediss://'),
  /**
   * The dashboard at /ui shows no buttons (cancel, pause, resume, requeue): a view for people who
   * should watch, not act. The API is unchanged; who may act is decided by API keys.
   */
  UI_READ_ONLY: oneOf(['true', 'false'], 'false').transform((value) => value === 'true'),
  /** Folder of the built dashboard served at /ui. Empty: dashboard/dist beside the gateway package. */
  UI_DIR: z.string().trim().default(''),
});
export type GatewayConfig = z.infer<typeof GatewayEnv>;

export const NodeWorkerEnv = z.object({
  ...RedisEnv,
  /** The queues this worker takes from, in order of preference (a dedicated worker: `QUEUES=cpu`). */
  QUEUES: parsedBy('default', parseQueueList),
  /** Tasks one worker process runs at the same time. */
  WORKER_CONCURRENCY: wholeNumber(10, 1, 1_000),
  /**
   * A taken task belongs to its worker for this long; the worker renews the lease every third of it
   * while the task runs, and any worker requeues tasks whose lease ran out (their worker died).
   */
  LEASE_MS: wholeNumber(30_000, 500, 3_600_000),
  /** Length of one long_task step (the seed's 1 s). */
  LONG_TASK_STEP_MS: wholeNumber(1_000, 0, 60_000),
  /** On SIGTERM, how long in-flight tasks may run before they are handed back to the queue. */
  SHUTDOWN_GRACE_MS: wholeNumber(25_000, 0, 3_600_000),
  /** Threads that run CPU-bound tasks (factorial, matmul) off the event loop. */
  CPU_THREADS: wholeNumber(Math.min(4, availableParallelism()), 1, 256),
  /** A task delivered this many times without finishing (its worker keeps dying) is given up as FAILURE. */
  MAX_DELIVERIES: wholeNumber(20, 1, 1_000),
  /** Port of the worker's own GET /metrics (Prometheus text, docs/metrics.md); 0 = not served, the default. */
  METRICS_PORT: wholeNumber(0, 0, 65_535),
  /** Interface METRICS_PORT listens on. */
  METRICS_HOST: z.string().trim().min(1, 'must not be empty').default('0.0.0.0'),
});
export type NodeWorkerConfig = z.infer<typeof NodeWorkerEnv>;

/** Values never echoed in messages: they may hold passwords. */
const SECRET_VARIABLES = new Set(['REDIS_URL', 'API_KEYS', 'R_SERVICE_TOKEN', 'CELERY_BROKER_URL']);

/** Validates `env` against `schema`; throws ConfigError naming every bad variable. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const got = env[name];
    const shown = got === undefined || SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(got)})`;
    return `  ${name} ${issue.message}${shown}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

/**
 * What a process's entry point calls: the validated configuration, or, for a bad variable, the
 * message on stderr (prefixed with the service name) and exit status 2, never a stack trace.
 */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, service: string): z.infer<S> {
  try {
    return loadConfig(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: ${error.message}\n`);
    process.exit(2);
  }
}
