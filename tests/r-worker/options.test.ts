/**
 * Delivery options of the real R worker (`Rscript r-worker/main.R` on a real redis-server, driven over
 * HTTP), checked against the TypeScript definitions too: the option rules against the zod schema
 * TaskOptionsRequest (word for word what the gateway answers), the defaults against R_TASKS, the
 * record's field order against TaskRecord. Priorities on one busy slot, a countdown that runs no
 * earlier, expiry, time limits and retries with backoff. Every wait is bounded; no test asserts a speed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { R_TASKS, TaskOptionsRequest, TaskRecord, decodeRecord, encodeRecord } from '@switchyard/shared';
import { fieldsOf } from '../../gateway/src/http/validation.js';
import { failingLmFit, lmFitError, useRWorkerService } from '../support/r-worker.js';

const service = useRWorkerService({ LONG_TASK_STEP_MS: '100', MAX_CONCURRENT_TASKS: '1', SHUTDOWN_GRACE_MS: '500' });
const { postTask, submit, record, waitForState } = service;

/** The fields the gateway answers for these `options` (its own formatter over the shared zod schema). */
function gatewayOptionFields(options: unknown): { field: string; message: string }[] {
  const parsed = TaskOptionsRequest.safeParse(options);
  return parsed.success ? [] : fieldsOf(parsed.error, 'options').map((f) => ({ ...f, field: prefixed(f.field) }));
}

const prefixed = (field: string) => (field === 'options' ? field : `options.${field}`);

describe('delivery options, end to end', () => {
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
    { options: { priority: 10 }, fields: [{ field: 'options.priority', message: 'must be a whole number between 0 and 9' }] },
    { options: { countdown: -1 }, fields: [{ field: 'options.countdown', message: 'must be at least 0' }] },
    { options: { countdown: 'soon' }, fields: [{ field: 'options.countdown', message: 'must be a number of seconds' }] },
    {
      options: { countdown: 5, eta: '2026-01-01T00:00:00Z' },
      fields: [{ field: 'options.countdown', message: 'must not be given together with eta' }],
    },
    { options: { eta: '2999-01-01T00:00:00Z' }, fields: [{ field: 'options.eta', message: 'must be at most 30 days ahead' }] },
    { options: { eta: 5 }, fields: [{ field: 'options.eta', message: 'must be an ISO 8601 date-time' }] },
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

  it('records the resolved options in TaskRecord field order, and the defaults of R_TASKS when none are given', async () => {
    const options = { max_attempts: 4, priority: 8, expires: '2999-01-01T01:00:00.123456+01:00' };
    expect(TaskOptionsRequest.safeParse(options).success).toBe(true);
    const taskId = await submit('summary_stats', [[1, 2, 3]], { options });
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(final).toMatchObject({ state: 'SUCCESS', max_attempts: 4, priority: 8, eta: null, expires_at: '2999-01-01T00:00:00.123Z' });
    const stored = (await service.redis.getBuffer(service.keys.queue('r', 'default').task(taskId)))!;
    // Stored as TypeScript stores it: field order, without the task id and the null fields.
    const whole = decodeRecord(taskId, stored);
    expect(Object.keys(whole)).toEqual(Object.keys(TaskRecord.shape));
    expect(stored.equals(encodeRecord(TaskRecord.parse(whole)))).toBe(true);
    for (const [task, args] of Object.entries({ long_task: [1], summary_stats: [[1, 2, 3]] })) {
      const plain = await waitForState(await submit(task, args), ['SUCCESS', 'FAILURE']);
      expect(plain.max_attempts).toBe(R_TASKS[task as keyof typeof R_TASKS].defaults.max_attempts);
      expect(plain).toMatchObject({ priority: 5, expires_at: null, eta: null });
    }
  });

  it('with its one slot busy, waiting tasks run priority 9 first, then 5, then 1, FIFO within a priority', async () => {
    const blocker = await submit('long_task', [8]);
    await waitForState(blocker, ['STARTED', 'PROGRESS']);
    const plan = [1, 9, 5, 9, 1];
    const ids: string[] = [];
    for (const priority of plan) ids.push(await submit('summary_stats', [[priority]], { options: { priority } }));
    const finals = await Promise.all(ids.map((id) => waitForState(id, ['SUCCESS', 'FAILURE'], 20_000)));
    const order = ids.map((id, i) => ({ id, at: finals[i]!.finished_at! })).sort((a, b) => a.at.localeCompare(b.at));
    expect(order.map((o) => o.id)).toEqual([ids[1], ids[3], ids[2], ids[0], ids[4]]);
  }, 30_000);

  it('a countdown task waits (its record says until when) and runs once, no earlier', async () => {
    const before = Date.now();
    const taskId = await submit('summary_stats', [[1, 2]], { options: { countdown: 1.5 } });
    const pending = await record(taskId);
    expect(pending?.state).toBe('PENDING');
    expect(Date.parse(pending?.eta ?? '')).toBeGreaterThanOrEqual(before + 1_500);
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE']);
    expect(Date.parse(final.started_at ?? '')).toBeGreaterThanOrEqual(Date.parse(pending?.eta ?? ''));
    expect(final.attempts).toBe(1);
  });

  it('a task whose expires passed before it was taken is REVOKED without running', async () => {
    const expired = await submit('long_task', [5], { options: { expires: '2020-01-01T00:00:00Z' } });
    const final = await waitForState(expired, ['REVOKED', 'SUCCESS', 'FAILURE']);
    expect(final).toMatchObject({ state: 'REVOKED', status: 'Expired at 2020-01-01T00:00:00.000Z before it started', started_at: null });
  });

  it('kills a task at time_limit_ms (FAILURE "time limit exceeded"), and interrupts one at its soft limit', async () => {
    const hard = await submit('long_task', [100], { options: { time_limit_ms: 500 } });
    expect(await waitForState(hard, ['SUCCESS', 'FAILURE', 'RETRY'])).toMatchObject({ state: 'FAILURE', error: 'time limit exceeded (500 ms)', attempts: 1 });
    const soft = await submit('long_task', [100], { options: { soft_time_limit_ms: 350, time_limit_ms: 20_000 } });
    expect(await waitForState(soft, ['SUCCESS', 'FAILURE', 'RETRY'])).toMatchObject({ state: 'FAILURE', error: 'soft time limit exceeded (350 ms)' });
  });

  it('retries a failing task after its backoff, then gives up: RETRY with the error, then FAILURE "(gave up after N attempts)"', async () => {
    const taskId = await submit('lm_fit', failingLmFit, {
      options: { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 300, jitter: false } },
    });
    expect(await waitForState(taskId, ['RETRY', 'FAILURE'])).toMatchObject({
      state: 'RETRY',
      error: lmFitError,
      status: 'Attempt 1 of 2 failed; retrying in 0.3 s',
    });
    expect(await waitForState(taskId, ['FAILURE'])).toMatchObject({ attempts: 2, error: `${lmFitError} (gave up after 2 attempts)` });
  });
});
