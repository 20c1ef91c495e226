/**
 * End to end through the real R worker: `Rscript r-worker/main.R` against a real redis-server, driven
 * over HTTP with fetch as the gateway drives it, with the status records read back from Redis by the
 * shared TypeScript reader (so the R side's MessagePack is checked by the Node decoder and schema).
 * This file checks the service itself: /health, each task run to its end in a child, a child
 * SIGKILLed, the answers 422, 400, 409 and 429 at MAX_CONCURRENT_TASKS. Every wait is bounded; no test
 * asserts a speed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRWorkerService } from '../support/r-worker.js';
import { waitFor } from '../support/wait.js';

const service = useRWorkerService({
  LONG_TASK_STEP_MS: '100',
  MAX_CONCURRENT_TASKS: '2',
  SHUTDOWN_GRACE_MS: '500',
  HEARTBEAT_TTL_SECONDS: '3',
});
const { postTask, submit, record, waitForState, childPidOf, health } = service;

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
