/**
 * Delivery options, cancel and heartbeats of the real R worker (`Rscript r-worker/main.R` on a real
 * redis-server, driven over HTTP), checked against the TypeScript definitions too: the option rules
 * against the zod schema TaskOptionsRequest (word for word what the gateway answers), the defaults
 * against R_TASKS, the record's field order against TaskRecord. Time limits, retries with backoff,
 * expiry, DELETE /tasks/<id>, and the heartbeat outliving its TTL while a task runs but not the
 * service. Every wait is bounded; no test asserts a speed.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { R_TASKS, TaskOptionsRequest, TaskRecord, codec } from '@switchyard/shared';
import { fieldsOf } from '../../gateway/src/http/validation.js';
import { failingLmFit, lmFitError, startRWorker, useRWorkerService } from '../support/r-worker.js';
import { waitFor } from '../support/wait.js';

const service = useRWorkerService({
  LONG_TASK_STEP_MS: '100',
  MAX_CONCURRENT_TASKS: '2',
  SHUTDOWN_GRACE_MS: '500',
  HEARTBEAT_TTL_SECONDS: '3',
});
const { postTask, submit, record, waitForState, cancel, heartbeatExists, health } = service;

/** The fields the gateway answers for these `options` (its own formatter over the shared zod schema). */
function gatewayOptionFields(options: unknown): { field: string; message: string }[] {
  const parsed = TaskOptionsRequest.safeParse(options);
  return parsed.success ? [] : fieldsOf(parsed.error, 'options').map((f) => ({ ...f, field: prefixed(f.field) }));
}

const prefixed = (field: string) => (field === 'options' ? field : `options.${field}`);

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
    const taskId = await submit('summary_stats', [[1, 2, 3]], service.worker, options);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final).toMatchObject({ state: 'SUCCESS', max_attempts: 4, expires_at: '2999-01-01T00:00:00.123Z' });
    const stored = codec.decode((await service.redis.getBuffer(service.keys.task(taskId))) as Buffer) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual(Object.keys(TaskRecord.shape));
  });

  it("records each task's default max_attempts from R_TASKS, and expires_at null, when no options are given", async () => {
    const seconds = await submit('summary_stats', [[1, 2, 3]], service.worker, { expires: 60 });
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
    const taskId = await submit('long_task', [100], service.worker, { time_limit_ms: 500 });
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
    const taskId = await submit('long_task', [100], service.worker, { soft_time_limit_ms: 350, time_limit_ms: 20_000 });
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'RETRY']);
    expect(final).toMatchObject({ state: 'FAILURE', error: 'soft time limit exceeded (350 ms)', attempts: 1 });
    expect(final.current).toBeGreaterThanOrEqual(1);
    expect(final.current).toBeLessThan(100);
    await waitFor(async () => (await health()).body.running === 0, { what: 'the interrupted child to end' });
    expect(await record(taskId)).toMatchObject({ state: 'FAILURE', attempts: 1 });
  });

  it('retries a failing task after its backoff, then gives up: RETRY with the error, STARTED again, FAILURE "(gave up after N attempts)"', async () => {
    const taskId = await submit('lm_fit', failingLmFit, service.worker, {
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
    const retries = service.worker.logLines().filter((line) => line.msg === 'retry started' && line.task_id === taskId);
    expect(retries.map((line) => line.attempt)).toEqual([2, 3]);
    expect(await heartbeatExists(taskId)).toBe(false);
  });

  it('records a task whose expires has passed REVOKED at once (still 202), and revokes a retry due after expires_at', async () => {
    const expired = await submit('long_task', [5], service.worker, { expires: '2020-01-01T00:00:00Z' });
    expect(await record(expired)).toMatchObject({
      state: 'REVOKED',
      status: 'Expired at 2020-01-01T00:00:00.000Z before it started',
      attempts: 0,
      started_at: null,
      expires_at: '2020-01-01T00:00:00.000Z',
    });
    expect(await heartbeatExists(expired)).toBe(false);

    const retried = await submit('lm_fit', failingLmFit, service.worker, {
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
    const taskId = await submit('lm_fit', failingLmFit, service.worker, {
      max_attempts: 3,
      backoff: { type: 'fixed', delay_ms: 2_000, jitter: false },
    });
    await waitForState(taskId, ['RETRY']);
    expect(await cancel(taskId)).toEqual({ status: 200, body: { task_id: taskId, state: 'REVOKED' } });
    const revoked = await record(taskId);
    expect(revoked).toMatchObject({ state: 'REVOKED', status: 'Cancelled while waiting to retry', attempts: 1 });
    await sleep(2_400); // past the backoff
    expect(await record(taskId)).toEqual(revoked);
    expect(service.worker.logLines().some((line) => line.msg === 'retry started' && line.task_id === taskId)).toBe(false);
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
    const ttl = await service.redis.ttl(service.keys.rHeartbeat(taskId));
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
      REDIS_URL: service.redisServer.url,
      KEY_PREFIX: service.keys.prefix,
      LONG_TASK_STEP_MS: '100',
      HEARTBEAT_TTL_SECONDS: '3',
      R_WORKER_CACHE_DIR: service.cacheDir,
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
