/**
 * Configuration from environment variables. Each process declares the variables it reads (with
 * defaults, documented here and in README's table) and validates them once at start-up; a bad value
 * stops the process with a message naming the variable and what it must be.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { KEY_PREFIX_PATTERN } from './keys.js';
import type { HostPort, RedisTarget } from './redis.js';
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

function isUrlOf(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function urlRule(protocols: readonly string[]): string {
  return `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
}

function url(defaultValue: string, protocols: readonly string[]) {
  return z
    .string()
    .trim()
    .default(defaultValue)
    .refine((value) => isUrlOf(value, protocols), urlRule(protocols));
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

/** `host:port,host:port,…` (at least one), for REDIS_CLUSTER_NODES and REDIS_SENTINELS. */
export function parseHostPortList(text: string): HostPort[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return entries.map((entry) => {
    const match = /^(\[[^\]]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 1 || port > 65_535) {
      throw new Error(`must be host:port pairs separated by commas (got ${JSON.stringify(entry)})`);
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Read by every process that talks to Redis; `withRedisTarget` turns them into one RedisTarget. */
export const RedisEnv = {
  /**
   * One Redis server; `rediss://` for TLS, `redis://:password@host:port/db` for a password. Default
   * redis://127.0.0.1:6379 unless REDIS_CLUSTER_NODES or REDIS_SENTINELS is set (then it must not be).
   */
  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || isUrlOf(value, ['redis:', 'rediss:']), urlRule(['redis:', 'rediss:'])),
  /** A Redis Cluster instead: some of its nodes, `host:port,…` (the rest are found from them). */
  REDIS_CLUSTER_NODES: parsedBy('', parseHostPortList),
  /** Redis Sentinel instead: the sentinels, `host:port,…`; they name the master (REDIS_SENTINEL_NAME). */
  REDIS_SENTINELS: parsedBy('', parseHostPortList),
  /** The name the sentinels monitor the master under; needed with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || /^[A-Za-z0-9_.-]{1,128}$/.test(v), "must be 1-128 letters, digits, '_', '.' or '-'"),
  /** Username (ACL) of the Redis servers: the cluster's nodes, the sentinel-managed ones, or REDIS_URL's if it names none. */
  REDIS_USERNAME: z.string().default(''),
  /** Password of the Redis servers: the cluster's nodes, the sentinel-managed ones, or REDIS_URL's if it names none. */
  REDIS_PASSWORD: z.string().default(''),
  /** Password of the sentinels themselves, when they have one (`requirepass` in sentinel.conf). */
  REDIS_SENTINEL_PASSWORD: z.string().default(''),
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

type RedisSettings = z.output<z.ZodObject<typeof RedisEnv>>;

/**
 * The Redis deployment the settings name: REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS, at most
 * one of them (none: the default REDIS_URL). Adds `redis` (the target) and fills REDIS_URL.
 */
function withRedisTarget<T extends RedisSettings>(env: T, ctx: z.RefinementCtx) {
  const chosen = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((name) =>
    name === 'REDIS_URL' ? env.REDIS_URL !== undefined : env[name].length > 0,
  );
  const complain = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (chosen.length > 1) {
    complain(
      chosen[1] ?? '',
      `must not be set together with ${chosen[0] ?? ''}: set one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS`,
    );
  }
  const sentinelMode = env.REDIS_SENTINELS.length > 0;
  const clusterMode = env.REDIS_CLUSTER_NODES.length > 0;
  if (sentinelMode && env.REDIS_SENTINEL_NAME === '') {
    complain(
      'REDIS_SENTINEL_NAME',
      'must be set with REDIS_SENTINELS: the name the sentinels monitor the master under',
    );
  }
  if (!sentinelMode && env.REDIS_SENTINEL_NAME !== '')
    complain('REDIS_SENTINEL_NAME', 'is read only with REDIS_SENTINELS');
  if (!sentinelMode && env.REDIS_SENTINEL_PASSWORD !== '') {
    complain('REDIS_SENTINEL_PASSWORD', 'is read only with REDIS_SENTINELS');
  }
  const redisUrl = withLogin(env.REDIS_URL ?? DEFAULT_REDIS_URL, env.REDIS_USERNAME, env.REDIS_PASSWORD, complain);
  const login = {
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}),
  };
  const redis: RedisTarget = clusterMode
    ? { kind: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...login }
    : sentinelMode
      ? {
          kind: 'sentinel',
          sentinels: env.REDIS_SENTINELS,
          name: env.REDIS_SENTINEL_NAME,
          ...login,
          ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
        }
      : { kind: 'single', url: redisUrl };
  return { ...env, REDIS_URL: redisUrl, redis };
}

/**
 * REDIS_URL with REDIS_USERNAME and REDIS_PASSWORD in it when it names none of its own (compose sets
 * both from one value); a URL naming a different one is refused rather than one silently winning.
 */
function withLogin(url: string, username: string, password: string, complain: (path: string, message: string) => void) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // REDIS_URL's own rule reports it
  }
  const given = [
    ['REDIS_USERNAME', 'username', username],
    ['REDIS_PASSWORD', 'password', password],
  ] as const;
  for (const [name, part, value] of given) {
    if (value === '') continue;
    const inUrl = safeDecode(parsed[part]);
    if (inUrl !== '' && inUrl !== value) complain(name, `differs from the ${part} in REDIS_URL: give it in one place`);
    else parsed[part] = encodeURIComponent(value);
  }
  return username === '' && password === '' ? url : parsed.toString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray '%': compare it as written
  }
}

const GatewaySettings = z.object({
  ...RedisEnv,
  /** Interface the gateway listens on. */
  HOST: z.string().trim().min(1, 'must not be empty').default('0.0.0.0'),
  /** Port the gateway listens on. */
  PORT: wholeNumber(9000, 1, 65_535),
  /**
   * Gateway processes sharing the port (Node's cluster module): one Node process answers on one core,
   * so a machine with cores to spare serves more with more. 1 (the default): a single process, no cluster.
   */
  GATEWAY_PROCESSES: wholeNumber(1, 1, 64),
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
export const GatewayEnv = GatewaySettings.transform(withRedisTarget);
export type GatewayConfig = z.infer<typeof GatewayEnv>;

const NodeWorkerSettings = z.object({
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
export const NodeWorkerEnv = NodeWorkerSettings.transform(withRedisTarget);
export type NodeWorkerConfig = z.infer<typeof NodeWorkerEnv>;

/** Values never echoed in messages: they may hold passwords. */
const SECRET_VARIABLES = new Set([
  'REDIS_URL',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
  'API_KEYS',
  'R_SERVICE_TOKEN',
  'CELERY_BROKER_URL',
]);

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
