/**
 * End to end through the real R worker: `Rscript r-worker/main.R` against a real redis-server, driven
 * over HTTP as the gateway drives it, with the records read back through their locator by the shared
 * TypeScript reader (so the R side's MessagePack is checked by the Node decoder and schema). This file
 * checks the service itself: /health, tasks run to their end, the answers 422, 400 and 409, a child
 * SIGKILLed, and a burst far beyond MAX_CONCURRENT_TASKS that is never refused. Every wait is bounded;
 * no test asserts a speed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { failingLmFit, lmFitError, useRWorkerService } from '../support/r-worker.js';
import { waitFor } from '../support/wait.js';

const service = useRWorkerService({ LONG_TASK_STEP_MS: '100', MAX_CONCURRENT_TASKS: '2', SHUTDOWN_GRACE_MS: '500' });
const { postTask, submit, record, waitForState, childPidOf, health } = service;

describe('the R worker service, end to end', () => {
  it('answers GET /health with 200: status, worker id, queues, running and max', async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok', worker_id: expect.stringMatching(/^r-/), queues: ['default'], running: 0, max: 2 });
  });

  it('runs long_task [3]: 202 at once with a PENDING record, then PROGRESS rising, then SUCCESS with result 3', async () => {
    const taskId = await submit('long_task', [3]);
    expect(await service.reader.locate(taskId)).toEqual({ kind: 'r', queue: 'default' });
    expect(await record(taskId)).not.toBeNull();
    const seen: number[] = [];
    const final = await waitFor(
      async () => {
        const current = await record(taskId);
        if (current?.state === 'PROGRESS' && seen.at(-1) !== current.current) seen.push(current.current);
        return current?.state === 'SUCCESS' || current?.state === 'FAILURE' ? current : null;
      },
      { timeoutMs: 15_000, intervalMs: 10, what: `long_task ${taskId} to end` },
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(final).toMatchObject({
      task_id: taskId,
      worker: 'r',
      queue: 'default',
      priority: 5,
      task: 'long_task',
      args: [3],
      state: 'SUCCESS',
      current: 3,
      total: 3,
      status: 'Task completed!',
      result: 3,
      error: null,
      attempts: 1,
      eta: null,
    });
    expect(final.finished_at).toBe(final.updated_at);
  });

  it('runs lm_fit, and ends a failing one in FAILURE with the R message, as a dead letter of its queue', async () => {
    const ok = await submit('lm_fit', [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }]);
    const fit = await waitForState(ok, ['SUCCESS', 'FAILURE']);
    expect((fit.result as { coefficients: Record<string, number> }).coefficients.x).toBeCloseTo(1.99, 9);
    const bad = await submit('lm_fit', failingLmFit);
    expect(await waitForState(bad, ['SUCCESS', 'FAILURE'])).toMatchObject({ state: 'FAILURE', error: lmFitError });
    const { letters } = await service.queues.deadLetters('default', 10);
    expect(letters.map((l) => l.taskId)).toContain(bad);
  });

  it('a child killed with SIGKILL is a failed attempt "worker lost", retried while attempts are left', async () => {
    const taskId = await submit('long_task', [100], { options: { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 60_000 } } });
    const pid = await childPidOf(taskId);
    await waitForState(taskId, ['PROGRESS']);
    process.kill(pid, 'SIGKILL');
    const final = await waitForState(taskId, ['RETRY', 'FAILURE'], 10_000);
    expect(final).toMatchObject({ state: 'RETRY', error: 'worker lost: the R child process exited without a result' });
    await waitFor(async () => (await health()).body.running === 0, { what: 'the lost child to be forgotten' });
    expect(await service.cancel(taskId)).toBe('ok'); // waiting out its backoff: revoked at once
  });

  it('refuses an invalid task with 422 naming the field, a bad queue naming queue, writing nothing', async () => {
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
    const badQueue = await postTask({ task_id: taskId, task: 'long_task', args: [1], queue: 'a:b' });
    expect(badQueue.status).toBe(422);
    expect(((await badQueue.json()) as { error: { fields: unknown } }).error.fields).toEqual([
      { field: 'queue', message: "must be 1-64 letters, digits, '-', '_' or '.'" },
    ]);
    expect(await record(taskId)).toBeNull();
  });

  it('answers malformed JSON with 400 invalid_json, and a reused task id with 409 task_exists', async () => {
    const malformed = await postTask('{"task_id": ');
    expect(malformed.status).toBe(400);
    const taskId = await submit('summary_stats', [[1, 2, 3, 4, 100]]);
    const again = await postTask({ task_id: taskId, task: 'summary_stats', args: [[1]] });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('task_exists');
    expect((await waitForState(taskId, ['SUCCESS', 'FAILURE'])).result).toMatchObject({ n: 5, mean: 22 });
  });

  it('a burst of 200 submissions, 20 at a time, with MAX_CONCURRENT_TASKS=2: every one 202, every one SUCCESS', async () => {
    const ids: string[] = [];
    const statuses: number[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const taskId = randomUUID();
          ids.push(taskId);
          const response = await postTask({ task_id: taskId, task: 'summary_stats', args: [[batch, i, 1]] });
          await response.arrayBuffer();
          return response.status;
        }),
      );
      statuses.push(...answers);
    }
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    await waitFor(
      async () => {
        const records = await Promise.all(ids.map((id) => record(id)));
        return records.every((r) => r?.state === 'SUCCESS');
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'all 200 tasks to succeed' },
    );
    expect((await health()).body.running).toBe(0);
  }, 120_000);
});
