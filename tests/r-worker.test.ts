/**
 * End to end through the real R worker: `Rscript r-worker/main.R` against a real redis-server, driven
 * over HTTP with fetch as the gateway drives it, with the status records read back from Redis by the
 * shared TypeScript reader (so the R side's MessagePack is checked by the Node decoder and schema).
 * Delivery options, cancel and heartbeats are checked against the TypeScript definitions too: the
 * option rules against the zod schema TaskOptionsRequest, the defaults against R_TASKS, the record's
 * field order against TaskRecord. Dead letters (rDead) and the stored request (rRequest) are read with
 * the shared key layout. Every wait is bounded; no test asserts a speed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  R_TASKS,
  TaskOptionsRequest,
  TaskRecord,
  codec,
  createKeyLayout,
  createRedis,
  readTaskRecord,
  type KeyLayout,
  type Redis,
} from '@switchyard/shared';
import { fieldsOf } from '../gateway/src/http/validation.js';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from './support/redis-server.js';
import { REPO_ROOT } from './support/services.js';
import { waitFor } from './support/wait.js';

interface LogLine {
  msg: string;
  level: string;
  task_id?: string;
  pid?: number;
  [field: string]: unknown;
}

interface RWorker {
  url: string;
  process: ChildProcess;
  logLines(): LogLine[];
  output(): string;
  exited: Promise<number | string>;
  /** Signals the worker (and, with SIGKILL, every process of its group: the forked children too). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `Rscript r-worker/main.R` in its own process group and waits until /health answers 200. */
async function startRWorker(env: Record<string, string>): Promise<RWorker> {
  const port = await freePort();
  const child = spawn('Rscript', ['r-worker/main.R'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  let running = true;
  void exited.then(() => (running = false));
  const url = `http://127.0.0.1:${port}`;
  const worker: RWorker = {
    url,
    process: child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine),
    exited,
    async stop(signal = 'SIGTERM') {
      if (running) {
        if (signal === 'SIGKILL' && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill(signal);
      }
      const timer = setTimeout(() => child.pid !== undefined && running && process.kill(-child.pid, 'SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  await waitFor(
    async () => {
      if (!running) throw new Error(`the R worker exited early (port ${port} taken?):\n${output} exited early`);
      try {
        return (await fetch(`${url}/health`)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `the R worker on port ${port}` },
  );
  return worker;
}

let redisServer: RedisServer;
let redis: Redis;
let keys: KeyLayout;
let worker: RWorker;
let cacheDir: string;

beforeAll(async () => {
  redisServer = await startRedisServer();
  const prefix = uniquePrefix('r-e2e');
  keys = createKeyLayout(prefix);
  redis = createRedis(redisServer.url, 'worker');
  cacheDir = mkdtempSync(join(tmpdir(), 'switchyard-r-cache-'));
  worker = await startRWorker({
    REDIS_URL: redisServer.url,
    KEY_PREFIX: prefix,
    LONG_TASK_STEP_MS: '100',
    MAX_CONCURRENT_TASKS: '2',
    SHUTDOWN_GRACE_MS: '500',
    HEARTBEAT_TTL_SECONDS: '3',
    R_WORKER_CACHE_DIR: cacheDir,
  });
}, 60_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  redis?.disconnect();
  await redisServer?.stop();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

async function postTask(body: unknown, target: RWorker = worker): Promise<Response> {
  return fetch(`${target.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function submit(
  task: string,
  args: unknown[],
  target: RWorker = worker,
  options?: Record<string, unknown>,
): Promise<string> {
  const taskId = randomUUID();
  const response = await postTask({ task_id: taskId, task, args, ...(options ? { options } : {}) }, target);
  expect(response.status).toBe(202);
  expect(await response.json()).toEqual({ task_id: taskId, status: 'created' });
  return taskId;
}

async function record(taskId: string): Promise<TaskRecord | null> {
  return readTaskRecord(redis, keys, taskId);
}

async function waitForState(taskId: string, states: string[], timeoutMs = 15_000): Promise<TaskRecord> {
  return waitFor(
    async () => {
      const current = await record(taskId);
      return current !== null && states.includes(current.state) ? current : null;
    },
    { timeoutMs, intervalMs: 20, what: `task ${taskId} to reach ${states.join('/')}` },
  );
}

async function cancel(taskId: string, target: RWorker = worker): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${target.url}/tasks/${taskId}`, { method: 'DELETE', headers: { connection: 'close' } });
  return { status: response.status, body: await response.json() };
}

async function heartbeatExists(taskId: string): Promise<boolean> {
  return (await redis.exists(keys.rHeartbeat(taskId))) === 1;
}

/** The pid of the child running `taskId`, from the worker's "task accepted" log line. */
async function childPidOf(taskId: string): Promise<number> {
  return waitFor(() => worker.logLines().find((line) => line.msg === 'task accepted' && line.task_id === taskId)?.pid, {
    timeoutMs: 5_000,
    what: `the log line of task ${taskId}`,
  });
}

async function health(): Promise<{ status: number; body: { status?: string; running?: number; max?: number } }> {
  const response = await fetch(`${worker.url}/health`);
  return {
    status: response.status,
    body: (await response.json()) as { status?: string; running?: number; max?: number },
  };
}

describe('the R worker service, end to end', () => {
  it('answers GET /health with 200, status ok, running and max while Redis answers', async () => {
    expect(await health()).toEqual({ status: 200, body: { status: 'ok', running: 0, max: 2 } });
  });

  it('runs long_task [3] in a child: 202 at once, then PROGRESS with current rising, then SUCCESS with result 3', async () => {
    const taskId = await submit('long_task', [3]);
    // The PENDING record is written before the 202, so it is there at once.
    expect(await record(taskId)).not.toBeNull();
    const seen: { state: string; current: number }[] = [];
    const final = await waitFor(
      async () => {
        const current = await record(taskId);
        if (current === null) return null;
        const last = seen[seen.length - 1];
        if (!last || last.state !== current.state || last.current !== current.current) {
          seen.push({ state: current.state, current: current.current });
        }
        return current.state === 'SUCCESS' || current.state === 'FAILURE' ? current : null;
      },
      { timeoutMs: 15_000, intervalMs: 10, what: `long_task ${taskId} to end` },
    );
    const progress = seen.filter((s) => s.state === 'PROGRESS').map((s) => s.current);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(seen.map((s) => s.current)).toEqual([...seen.map((s) => s.current)].sort((a, b) => a - b));
    expect(final).toMatchObject({
      task_id: taskId,
      worker: 'r',
      task: 'long_task',
      args: [3],
      state: 'SUCCESS',
      current: 3,
      total: 3,
      status: 'Task completed!',
      result: 3,
      error: null,
      attempts: 1,
    });
    expect(final.started_at).not.toBeNull();
    expect(final.finished_at).toBe(final.updated_at);
  });

  it('runs lm_fit and stores the coefficients, R squared and n of lm(y ~ x)', async () => {
    const taskId = await submit('lm_fit', [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }]);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final.state).toBe('SUCCESS');
    expect(final.total).toBe(1);
    const result = final.result as {
      coefficients: Record<string, number>;
      r_squared: number;
      adj_r_squared: number;
      n: number;
    };
    expect(Object.keys(result.coefficients)).toEqual(['(Intercept)', 'x']);
    expect(result.coefficients['(Intercept)']).toBeCloseTo(0.05, 9);
    expect(result.coefficients.x).toBeCloseTo(1.99, 9);
    expect(result.r_squared).toBeCloseTo(19.9 ** 2 / (10 * 39.708), 9);
    expect(result.n).toBe(5);
  });

  it('ends a task whose R code fails (predictor longer than y) in FAILURE with the R error message', async () => {
    const taskId = await submit('lm_fit', [[1, 2, 3], { x: [1, 2, 3, 4] }]);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final).toMatchObject({
      state: 'FAILURE',
      status: 'Task failed',
      result: null,
      error: 'every predictor column must hold as many values as y (3); x holds 4',
    });
    expect(final.finished_at).not.toBeNull();
  });

  it('marks a child killed with SIGKILL as FAILURE "worker lost" instead of leaving it in PROGRESS', async () => {
    const taskId = await submit('long_task', [100]);
    const pid = await childPidOf(taskId);
    await waitForState(taskId, ['PROGRESS']);
    process.kill(pid, 'SIGKILL');
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE'], 10_000);
    expect(final.state).toBe('FAILURE');
    expect(final.error).toMatch(/^worker lost: the R child process exited without a result/);
    expect(final.current).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await health()).body.running === 0, { what: 'the lost child to be forgotten' });
  });

  it('refuses an invalid task with 422 validation_failed naming the field, writing nothing', async () => {
    const taskId = randomUUID();
    const response = await postTask({ task_id: taskId, task: 'long_task', args: [0] });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'Invalid request: args.0 must be a whole number between 1 and 10000',
        fields: [{ field: 'args.0', message: 'must be a whole number between 1 and 10000' }],
      },
    });
    expect(await record(taskId)).toBeNull();
  });

  it('refuses an unknown task with 422 naming the field task', async () => {
    const response = await postTask({ task_id: randomUUID(), task: 'factorial', args: [5] });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { code: string; fields: { field: string; message: string }[] } };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.fields).toEqual([{ field: 'task', message: 'must be one of: long_task, lm_fit, summary_stats' }]);
  });

  it('answers malformed JSON with 400 invalid_json, and a reused task id with 409 task_exists', async () => {
    const malformed = await postTask('{"task_id": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('invalid_json');

    const taskId = await submit('summary_stats', [[1, 2, 3, 4, 100]]);
    const again = await postTask({ task_id: taskId, task: 'summary_stats', args: [[1]] });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('task_exists');
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final.result).toEqual({
      n: 5,
      mean: 22,
      sd: Math.sqrt(7610 / 4),
      min: 1,
      max: 100,
      quantiles: { '25%': 2, '50%': 3, '75%': 4 },
    });
  });

  it('answers a third concurrent task beyond MAX_CONCURRENT_TASKS=2 with 429 worker_busy and Retry-After, starting nothing', async () => {
    const first = await submit('long_task', [15]);
    const second = await submit('long_task', [15]);
    const thirdId = randomUUID();
    const third = await postTask({ task_id: thirdId, task: 'long_task', args: [1] });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('worker_busy');
    expect(await record(thirdId)).toBeNull();
    expect((await health()).body.running).toBe(2);
    // The two running tasks are unaffected.
    expect((await waitForState(first, ['SUCCESS', 'FAILURE'])).state).toBe('SUCCESS');
    expect((await waitForState(second, ['SUCCESS', 'FAILURE'])).state).toBe('SUCCESS');
  });
});

/** The fields the gateway answers for these `options` (its own formatter over the shared zod schema). */
function gatewayOptionFields(options: unknown): { field: string; message: string }[] {
  const parsed = TaskOptionsRequest.safeParse(options);
  return parsed.success ? [] : fieldsOf(parsed.error, 'options').map((f) => ({ ...f, field: prefixed(f.field) }));
}

const prefixed = (field: string) => (field === 'options' ? field : `options.${field}`);

const failingLmFit: unknown[] = [[1, 2, 3], { x: [1, 2, 3, 4] }];
const lmFitError = 'every predictor column must hold as many values as y (3); x holds 4';

describe('delivery options, cancel and heartbeats, end to end', () => {
  const badOptions: { options: unknown; fields: { field: string; message: string }[] }[] = [
    { options: 'soon', fields: [{ field: 'options', message: 'must be an object' }] },
    { options: { retries: 2 }, fields: [{ field: 'options.retries', message: 'is not an allowed field' }] },
    {
      options: { max_attempts: 0, backoff: { type: 'linear', delay_ms: 1.5, jitter: 'yes', extra: 1 } },
      fields: [
        { field: 'options.max_attempts', message: 'must be a whole number between 1 and 10' },
        { field: 'options.backoff.type', message: 'must be fixed or exponential' },
        { field: 'options.backoff.delay_ms', message: 'must be a whole number between 0 and 3600000' },
        { field: 'options.backoff.jitter', message: 'must be true or false' },
        { field: 'options.backoff.extra', message: 'is not an allowed field' },
      ],
    },
    {
      options: { backoff: { type: 'fixed' } },
      fields: [{ field: 'options.backoff.delay_ms', message: 'is required' }],
    },
    {
      options: { soft_time_limit_ms: 2000, time_limit_ms: 1000 },
      fields: [{ field: 'options.soft_time_limit_ms', message: 'must not be longer than time_limit_ms' }],
    },
    {
      options: { time_limit_ms: 86_400_001 },
      fields: [{ field: 'options.time_limit_ms', message: 'must be a whole number between 1 and 86400000' }],
    },
    {
      options: { expires: '2026-02-30T00:00:00Z' },
      fields: [{ field: 'options.expires', message: 'must be an ISO 8601 date-time or a number of seconds' }],
    },
    {
      options: { expires: '2026-01-01T00:00' },
      fields: [{ field: 'options.expires', message: 'must be an ISO 8601 date-time or a number of seconds' }],
    },
    { options: { expires: 2_592_001 }, fields: [{ field: 'options.expires', message: 'must be at most 2592000' }] },
    { options: { expires: 0 }, fields: [{ field: 'options.expires', message: 'must be greater than 0' }] },
  ];

  it.each(badOptions)(
    'refuses options $options with 422 naming the fields, as TaskOptionsRequest does',
    async (bad) => {
      const taskId = randomUUID();
      const response = await postTask({ task_id: taskId, task: 'long_task', args: [1], options: bad.options });
      expect(response.status).toBe(422);
      const body = (await response.json()) as { error: { code: string; fields: { field: string; message: string }[] } };
      expect(body.error.code).toBe('validation_failed');
      expect(body.error.fields).toEqual(bad.fields);
      // Word for word what the gateway answers for the same options.
      expect(gatewayOptionFields(bad.options)).toEqual(bad.fields);
      expect(await record(taskId)).toBeNull();
    },
  );

  it('accepts the options the schema accepts, and records max_attempts and expires_at in TaskRecord field order', async () => {
    const options = {
      max_attempts: 4,
      backoff: { type: 'exponential', delay_ms: 10 },
      soft_time_limit_ms: 60_000,
      time_limit_ms: 60_000,
      expires: '2999-01-01T01:00:00.123456+01:00',
    };
    expect(TaskOptionsRequest.safeParse(options).success).toBe(true);
    const taskId = await submit('summary_stats', [[1, 2, 3]], worker, options);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final).toMatchObject({ state: 'SUCCESS', max_attempts: 4, expires_at: '2999-01-01T00:00:00.123Z' });
    const stored = codec.decode((await redis.getBuffer(keys.task(taskId))) as Buffer) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual(Object.keys(TaskRecord.shape));
  });

  it("records each task's default max_attempts from R_TASKS, and expires_at null, when no options are given", async () => {
    const seconds = await submit('summary_stats', [[1, 2, 3]], worker, { expires: 60 });
    const relative = await waitForState(seconds, ['SUCCESS', 'FAILURE']);
    const expiresIn = Date.parse(relative.expires_at ?? '') - Date.parse(relative.created_at);
    expect(expiresIn).toBeGreaterThanOrEqual(59_000);
    expect(expiresIn).toBeLessThanOrEqual(60_000);
    const examples: Record<keyof typeof R_TASKS, unknown[]> = {
      long_task: [1],
      lm_fit: [[2.1, 3.9, 6.2], { x: [1, 2, 3] }],
      summary_stats: [[1, 2, 3]],
    };
    for (const [task, args] of Object.entries(examples)) {
      const taskId = await submit(task, args);
      const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
      expect(final.max_attempts).toBe(R_TASKS[task as keyof typeof R_TASKS].defaults.max_attempts);
      expect(final.expires_at).toBeNull();
    }
  });

  it('kills a task at time_limit_ms: FAILURE "time limit exceeded (N ms)", not retried', async () => {
    const taskId = await submit('long_task', [100], worker, { time_limit_ms: 500 });
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'RETRY']);
    expect(final).toMatchObject({
      state: 'FAILURE',
      status: 'Task failed',
      error: 'time limit exceeded (500 ms)',
      attempts: 1,
      max_attempts: 3,
    });
    await waitFor(async () => (await health()).body.running === 0, { what: 'the killed child to be let go' });
    expect(await record(taskId)).toMatchObject({ state: 'FAILURE', attempts: 1 });
    expect(await heartbeatExists(taskId)).toBe(false);
  });

  it('interrupts a task at soft_time_limit_ms: FAILURE "soft time limit exceeded (N ms)", not retried', async () => {
    const taskId = await submit('long_task', [100], worker, { soft_time_limit_ms: 350, time_limit_ms: 20_000 });
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'RETRY']);
    expect(final).toMatchObject({ state: 'FAILURE', error: 'soft time limit exceeded (350 ms)', attempts: 1 });
    expect(final.current).toBeGreaterThanOrEqual(1);
    expect(final.current).toBeLessThan(100);
    await waitFor(async () => (await health()).body.running === 0, { what: 'the interrupted child to end' });
    expect(await record(taskId)).toMatchObject({ state: 'FAILURE', attempts: 1 });
  });

  it('retries a failing task after its backoff, then gives up: RETRY with the error, STARTED again, FAILURE "(gave up after N attempts)"', async () => {
    const taskId = await submit('lm_fit', failingLmFit, worker, {
      max_attempts: 3,
      backoff: { type: 'fixed', delay_ms: 500, jitter: false },
    });
    const retry = await waitForState(taskId, ['RETRY']);
    expect(retry).toMatchObject({
      state: 'RETRY',
      error: lmFitError,
      status: 'Attempt 1 of 3 failed; retrying in 0.5 s',
      attempts: 1,
      max_attempts: 3,
      finished_at: null,
    });
    expect(await heartbeatExists(taskId)).toBe(true);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'REVOKED']);
    expect(final).toMatchObject({ state: 'FAILURE', error: `${lmFitError} (gave up after 3 attempts)`, attempts: 3 });
    const retries = worker.logLines().filter((line) => line.msg === 'retry started' && line.task_id === taskId);
    expect(retries.map((line) => line.attempt)).toEqual([2, 3]);
    expect(await heartbeatExists(taskId)).toBe(false);
  });

  it('records a task whose expires has passed REVOKED at once (still 202), and revokes a retry due after expires_at', async () => {
    const expired = await submit('long_task', [5], worker, { expires: '2020-01-01T00:00:00Z' });
    expect(await record(expired)).toMatchObject({
      state: 'REVOKED',
      status: 'Expired at 2020-01-01T00:00:00.000Z before it started',
      attempts: 0,
      started_at: null,
      expires_at: '2020-01-01T00:00:00.000Z',
    });
    expect(await heartbeatExists(expired)).toBe(false);

    const retried = await submit('lm_fit', failingLmFit, worker, {
      max_attempts: 3,
      backoff: { type: 'fixed', delay_ms: 1_500, jitter: false },
      expires: 0.5,
    });
    const final = await waitForState(retried, ['SUCCESS', 'FAILURE', 'REVOKED']);
    expect(final).toMatchObject({
      state: 'REVOKED',
      status: `Expired at ${final.expires_at} before it started`,
      attempts: 1,
    });
  });

  it('cancels a running task with DELETE /tasks/<id>: 200, REVOKED "Cancelled while running", never "worker lost"', async () => {
    const taskId = await submit('long_task', [100]);
    await waitForState(taskId, ['PROGRESS']);
    const answer = await cancel(taskId);
    expect(answer).toEqual({ status: 200, body: { task_id: taskId, state: 'REVOKED' } });
    const revoked = await record(taskId);
    expect(revoked).toMatchObject({ state: 'REVOKED', status: 'Cancelled while running', error: null });
    expect(revoked?.finished_at).not.toBeNull();
    expect(await heartbeatExists(taskId)).toBe(false);
    await waitFor(async () => (await health()).body.running === 0, { what: 'the cancelled child to be let go' });
    expect(await record(taskId)).toEqual(revoked);
  });

  it('cancels a retry waiting for its backoff: 200, REVOKED, and it never runs again', async () => {
    const taskId = await submit('lm_fit', failingLmFit, worker, {
      max_attempts: 3,
      backoff: { type: 'fixed', delay_ms: 2_000, jitter: false },
    });
    await waitForState(taskId, ['RETRY']);
    expect(await cancel(taskId)).toEqual({ status: 200, body: { task_id: taskId, state: 'REVOKED' } });
    const revoked = await record(taskId);
    expect(revoked).toMatchObject({ state: 'REVOKED', status: 'Cancelled while waiting to retry', attempts: 1 });
    await sleep(2_400); // past the backoff
    expect(await record(taskId)).toEqual(revoked);
    expect(worker.logLines().some((line) => line.msg === 'retry started' && line.task_id === taskId)).toBe(false);
  });

  it('answers DELETE with 409 task_finished, 404 task_not_found, or 422 for a malformed id', async () => {
    const done = await submit('summary_stats', [[1, 2]]);
    await waitForState(done, ['SUCCESS']);
    expect(await cancel(done)).toEqual({
      status: 409,
      body: {
        error: {
          code: 'task_finished',
          message: `Task ${done} has already finished (SUCCESS): there is nothing to cancel`,
        },
      },
    });
    const unknown = randomUUID();
    expect(await cancel(unknown)).toEqual({
      status: 404,
      body: {
        error: {
          code: 'task_not_found',
          message: `No task with id ${unknown} (it never existed, or its record expired)`,
        },
      },
    });
    expect(await cancel('not-a-task-id')).toEqual({
      status: 422,
      body: {
        error: {
          code: 'validation_failed',
          message: 'Invalid request: task_id must be a task id as returned by execute (a UUID)',
          fields: [{ field: 'task_id', message: 'must be a task id as returned by execute (a UUID)' }],
        },
      },
    });
  });

  it('keeps the heartbeat of a running task alive past its TTL (3 s here), and deletes it when the task ends', async () => {
    const taskId = await submit('long_task', [45]); // 4.5 s of 100 ms steps
    const ttl = await redis.ttl(keys.rHeartbeat(taskId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3);
    // Past one TTL since the PENDING write, the heartbeat is only there if it was refreshed.
    const late = await waitFor(
      async () => {
        const current = await record(taskId);
        return current !== null && current.current >= 35 ? current : null;
      },
      { timeoutMs: 20_000, what: 'long_task to pass step 35' },
    );
    expect(Date.now() - Date.parse(late.created_at)).toBeGreaterThan(3_000);
    expect(await heartbeatExists(taskId)).toBe(true);
    await waitForState(taskId, ['SUCCESS']);
    expect(await heartbeatExists(taskId)).toBe(false);
  });

  it('when the whole R service is SIGKILLed mid-task, the heartbeat is gone within its TTL while the record stays unfinished', async () => {
    const doomed = await startRWorker({
      REDIS_URL: redisServer.url,
      KEY_PREFIX: keys.prefix,
      LONG_TASK_STEP_MS: '100',
      HEARTBEAT_TTL_SECONDS: '3',
      R_WORKER_CACHE_DIR: cacheDir,
    });
    try {
      const taskId = await submit('long_task', [100], doomed);
      await waitForState(taskId, ['PROGRESS']);
      expect(await heartbeatExists(taskId)).toBe(true);
      await doomed.stop('SIGKILL'); // the service and its children: the whole process group
      await waitFor(async () => !(await heartbeatExists(taskId)), {
        timeoutMs: 3_000 + 1_000, // the TTL, and a second for Redis's expiry and our polling
        intervalMs: 50,
        what: 'the heartbeat of the killed service to expire',
      });
      const left = await record(taskId);
      expect(left?.state).toBe('PROGRESS'); // the gateway reports it lost: a non-terminal record without a heartbeat
    } finally {
      await doomed.stop('SIGKILL');
    }
  });
});

interface Answer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

async function requeue(taskId: string, target: RWorker = worker): Promise<Answer> {
  const response = await fetch(`${target.url}/tasks/${taskId}/requeue`, {
    method: 'POST',
    headers: { connection: 'close' },
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

async function deadLetters(): Promise<string[]> {
  return redis.lrange(keys.rDead, 0, -1);
}

/** A task the worker gave up on: lm_fit whose predictor is longer than y fails at once. */
async function deadLetter(options?: Record<string, unknown>): Promise<TaskRecord> {
  const taskId = await submit('lm_fit', failingLmFit, worker, options);
  const failed = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'REVOKED']);
  expect(failed.state).toBe('FAILURE');
  await waitFor(async () => (await health()).body.running === 0, { what: 'the failed child to be let go' });
  return failed;
}

describe('dead letters and POST /tasks/<id>/requeue, end to end', () => {
  it('stores the request {task, args, options?} as JSON under rRequest, with the TTL of the record', async () => {
    const options = { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 0 }, expires: 600 };
    const withOptions = await submit('summary_stats', [[1, 0.30000000000000004, 1e-300]], worker, options);
    expect(JSON.parse((await redis.get(keys.rRequest(withOptions))) ?? 'null')).toEqual({
      task: 'summary_stats',
      args: [[1, 0.30000000000000004, 1e-300]],
      options,
    });
    const recordTtl = await redis.ttl(keys.task(withOptions));
    expect(Math.abs((await redis.ttl(keys.rRequest(withOptions))) - recordTtl)).toBeLessThanOrEqual(1);
    const plain = await submit('long_task', [2]);
    expect(JSON.parse((await redis.get(keys.rRequest(plain))) ?? 'null')).toEqual({ task: 'long_task', args: [2] });
    await waitForState(plain, ['SUCCESS']);
    expect(await deadLetters()).not.toContain(plain);
  });

  it('puts each FAILURE at the head of rDead, once; SUCCESS and REVOKED are not dead letters', async () => {
    const failed = await deadLetter();
    expect((await deadLetters())[0]).toBe(failed.task_id);
    const killed = await submit('long_task', [100], worker, { time_limit_ms: 300 });
    expect(await waitForState(killed, ['FAILURE'])).toMatchObject({ error: 'time limit exceeded (300 ms)' });
    const cancelled = await submit('long_task', [100]);
    await waitForState(cancelled, ['PROGRESS']);
    expect((await cancel(cancelled)).status).toBe(200);
    const dead = await deadLetters();
    expect(dead.slice(0, 2)).toEqual([killed, failed.task_id]);
    expect(dead).not.toContain(cancelled);
    expect(new Set(dead).size).toBe(dead.length);
  });

  it('requeues a task whose child was lost: 202, a new PENDING record keeping created_at, then SUCCESS', async () => {
    const taskId = await submit('long_task', [5]);
    const pid = await childPidOf(taskId);
    await waitForState(taskId, ['PROGRESS']);
    process.kill(pid, 'SIGKILL');
    const lost = await waitForState(taskId, ['FAILURE', 'SUCCESS']);
    expect(lost.error).toMatch(/^worker lost/);
    expect((await deadLetters())[0]).toBe(taskId);
    await waitFor(async () => (await health()).body.running === 0, { what: 'the lost child to be let go' });

    expect(await requeue(taskId)).toEqual({
      status: 202,
      retryAfter: null,
      body: { task_id: taskId, status: 'created' },
    });
    const fresh = await record(taskId);
    expect(fresh).toMatchObject({ created_at: lost.created_at, error: null, finished_at: null, max_attempts: 3 });
    expect(['PENDING', 'STARTED', 'PROGRESS']).toContain(fresh?.state);
    expect(fresh?.attempts).toBeLessThanOrEqual(1);
    expect(await deadLetters()).not.toContain(taskId);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final).toMatchObject({ state: 'SUCCESS', result: 5, attempts: 1, created_at: lost.created_at });
    expect(worker.logLines().some((line) => line.msg === 'task requeued' && line.task_id === taskId)).toBe(true);
    await waitFor(async () => !(await heartbeatExists(taskId)), { what: 'the heartbeat of the requeued task to go' });
  });

  it('requeues a task that gave up with its attempts reset and the same options, and it becomes a dead letter again', async () => {
    const options = { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 400, jitter: false } };
    const first = await deadLetter(options);
    expect(first).toMatchObject({ attempts: 2, error: `${lmFitError} (gave up after 2 attempts)` });
    expect((await requeue(first.task_id)).status).toBe(202);
    const retry = await waitForState(first.task_id, ['RETRY']);
    expect(retry).toMatchObject({ attempts: 1, status: 'Attempt 1 of 2 failed; retrying in 0.4 s', finished_at: null });
    const again = await waitForState(first.task_id, ['FAILURE']);
    expect(again).toMatchObject({
      attempts: 2,
      error: `${lmFitError} (gave up after 2 attempts)`,
      created_at: first.created_at,
    });
    expect(Date.parse(again.finished_at ?? '')).toBeGreaterThan(Date.parse(first.finished_at ?? ''));
    expect((await deadLetters()).filter((id) => id === first.task_id)).toEqual([first.task_id]);
    const retries = worker.logLines().filter((line) => line.msg === 'retry started' && line.task_id === first.task_id);
    expect(retries.map((line) => line.attempt)).toEqual([2, 2]);
  });

  it('answers 404 task_not_found for a task that is not a dead letter, and 422 naming task_id for a malformed id', async () => {
    const unknown = randomUUID();
    const message = (id: string) => `Task ${id} is not on the dead-letter list`;
    expect(await requeue(unknown)).toEqual({
      status: 404,
      retryAfter: null,
      body: { error: { code: 'task_not_found', message: message(unknown) } },
    });
    const done = await submit('summary_stats', [[1, 2]]);
    const succeeded = await waitForState(done, ['SUCCESS']);
    expect((await requeue(done)).body).toEqual({ error: { code: 'task_not_found', message: message(done) } });
    expect(await record(done)).toEqual(succeeded);
    expect(await requeue('not-a-task-id')).toEqual({
      status: 422,
      retryAfter: null,
      body: {
        error: {
          code: 'validation_failed',
          message: 'Invalid request: task_id must be a task id as returned by execute (a UUID)',
          fields: [{ field: 'task_id', message: 'must be a task id as returned by execute (a UUID)' }],
        },
      },
    });
  });

  it('answers 404 "can no longer run" for a dead letter whose request expired, and takes it off the list', async () => {
    const failed = await deadLetter();
    await redis.del(keys.rRequest(failed.task_id)); // as its expiry would
    expect(await requeue(failed.task_id)).toEqual({
      status: 404,
      retryAfter: null,
      body: {
        error: { code: 'task_not_found', message: `Task ${failed.task_id} can no longer run: its request expired` },
      },
    });
    expect(await deadLetters()).not.toContain(failed.task_id);
    expect(await record(failed.task_id)).toEqual(failed);
  });

  it('answers 429 worker_busy with Retry-After at MAX_CONCURRENT_TASKS, and the task stays a dead letter', async () => {
    const failed = await deadLetter();
    const stored = await redis.getBuffer(keys.task(failed.task_id));
    const busy = [await submit('long_task', [15]), await submit('long_task', [15])];
    const answer = await requeue(failed.task_id);
    expect(answer.status).toBe(429);
    expect(answer.retryAfter).toBe('1');
    expect((answer.body as { error: { code: string } }).error.code).toBe('worker_busy');
    expect((await deadLetters())[0]).toBe(failed.task_id);
    expect(await redis.getBuffer(keys.task(failed.task_id))).toEqual(stored);
    expect(await heartbeatExists(failed.task_id)).toBe(false);
    for (const taskId of busy) expect((await waitForState(taskId, ['SUCCESS', 'FAILURE'])).state).toBe('SUCCESS');
    expect((await requeue(failed.task_id)).status).toBe(202); // a slot is free again
    expect((await waitForState(failed.task_id, ['FAILURE'])).attempts).toBe(1);
  });

  it('records a requeued task whose expires has passed REVOKED at once (202), and it is no dead letter any more', async () => {
    const expires = new Date(Date.now() + 1_000).toISOString();
    const failed = await deadLetter({ expires });
    await sleep(Math.max(0, Date.parse(expires) - Date.now()) + 50);
    expect((await requeue(failed.task_id)).status).toBe(202);
    expect(await record(failed.task_id)).toMatchObject({
      state: 'REVOKED',
      status: `Expired at ${expires} before it started`,
      attempts: 0,
      error: null,
      started_at: null,
      created_at: failed.created_at,
    });
    expect(await deadLetters()).not.toContain(failed.task_id);
    expect(await heartbeatExists(failed.task_id)).toBe(false);
  });

  it("keeps the orphaned child of a dead service, whose task was recorded lost and requeued, out of the new run's record", async () => {
    const doomed = await startRWorker({
      REDIS_URL: redisServer.url,
      KEY_PREFIX: keys.prefix,
      LONG_TASK_STEP_MS: '1000', // the orphan's first write after STARTED comes a second later
      R_WORKER_CACHE_DIR: cacheDir,
    });
    try {
      const taskId = await submit('long_task', [30], doomed);
      const started = await waitForState(taskId, ['STARTED']);
      process.kill(doomed.process.pid ?? 0, 'SIGKILL'); // the service alone: its child runs on, an orphan
      // What the gateway's collect records once the heartbeat is gone: FAILURE, and a dead letter.
      const lost: TaskRecord = {
        ...started,
        state: 'FAILURE',
        error: 'worker lost: the R service stopped',
        finished_at: started.updated_at,
      };
      await redis.set(keys.task(taskId), codec.encode(lost), 'EX', 600);
      await redis.lpush(keys.rDead, taskId);
      expect((await requeue(taskId)).status).toBe(202);

      const seen: { startedAt: string | null; current: number }[] = [];
      const final = await waitFor(
        async () => {
          const current = await record(taskId);
          if (current === null) return null;
          seen.push({ startedAt: current.started_at, current: current.current });
          return current.state === 'SUCCESS' || current.state === 'FAILURE' ? current : null;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: 'the requeued run to end' },
      );
      expect(final).toMatchObject({ state: 'SUCCESS', result: 30, attempts: 1, created_at: started.created_at });
      expect(final.started_at).not.toBe(started.started_at);
      const runs = new Set(seen.map((s) => s.startedAt).filter((at) => at !== null));
      expect([...runs]).toEqual([final.started_at]); // never the orphan's attempt
      const currents = seen.map((s) => s.current);
      expect(currents).toEqual([...currents].sort((a, b) => a - b));
      // The orphan's first write after the requeue was refused, and it stopped.
      await waitFor(
        () =>
          doomed
            .logLines()
            .some(
              (line) =>
                line.task_id === taskId && line.msg === 'task stopped: its record was ended elsewhere (cancelled?)',
            ),
        { timeoutMs: 5_000, what: 'the orphan to stop' },
      );
    } finally {
      try {
        process.kill(-(doomed.process.pid ?? 0), 'SIGKILL'); // the orphan, if a failed check left it running
      } catch {
        // the group is gone already
      }
    }
  });

  it('answers 503 redis_unavailable when Redis cannot be reached', async () => {
    const lonelyRedis = await startRedisServer();
    const lonely = await startRWorker({
      REDIS_URL: lonelyRedis.url,
      KEY_PREFIX: keys.prefix,
      R_WORKER_CACHE_DIR: cacheDir,
    });
    try {
      await lonelyRedis.stop();
      const taskId = randomUUID();
      expect(await requeue(taskId, lonely)).toEqual({
        status: 503,
        retryAfter: null,
        body: { error: { code: 'redis_unavailable', message: 'Redis cannot be reached; the task was not requeued' } },
      });
    } finally {
      await lonely.stop('SIGKILL');
      await lonelyRedis.stop();
    }
  });
});

/**
 * Stops `target` with `signal` while a task runs that outlives SHUTDOWN_GRACE_MS (500 ms here), and
 * checks the graceful path: exit 0, the task FAILURE "worker shut down…", the port free, no process left.
 */
async function expectGracefulStop(target: RWorker, signal: NodeJS.Signals): Promise<void> {
  const taskId = await submit('long_task', [100], target);
  await waitForState(taskId, ['PROGRESS']);
  const code = await target.stop(signal);
  expect(code).toBe(0);
  expect(await record(taskId)).toMatchObject({ state: 'FAILURE', error: 'worker shut down before the task finished' });
  await expect(fetch(`${target.url}/health`)).rejects.toThrow();
  const lines = target.logLines().map((line) => line.msg);
  expect(lines).toContain('stop signal received: no longer accepting tasks');
  expect(lines[lines.length - 1]).toBe('shut down');
  await sleep(50);
  expect(() => process.kill(-(target.process.pid ?? 0), 0)).toThrow(); // no process of its group is left
}

describe('stopping the R worker service', () => {
  it('on SIGINT stops accepting, fails a task that outlives SHUTDOWN_GRACE_MS, frees its port and exits 0', async () => {
    await expectGracefulStop(worker, 'SIGINT');
  });

  it('on SIGTERM does the same (its handler is built from r-worker/src/sigterm.c with the C compiler)', async (context) => {
    const second = await startRWorker({
      REDIS_URL: redisServer.url,
      KEY_PREFIX: keys.prefix,
      LONG_TASK_STEP_MS: '100',
      SHUTDOWN_GRACE_MS: '500',
      R_WORKER_CACHE_DIR: cacheDir,
    });
    try {
      const listening = second.logLines().find((line) => line.msg === 'listening');
      if (listening?.sigterm_handled !== true) {
        // Without a C compiler R cannot catch SIGTERM at all; the worker says so at start (SIGINT still works).
        context.skip();
      }
      await expectGracefulStop(second, 'SIGTERM');
    } finally {
      await second.stop('SIGKILL');
    }
  });
});
