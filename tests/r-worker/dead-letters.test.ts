/**
 * Dead letters of the real R worker (`Rscript r-worker/main.R` on a real redis-server, driven over
 * HTTP): the stored request (rRequest) and the dead-letter list (rDead), read with the shared key
 * layout, and POST /tasks/<id>/requeue: a lost or given-up task run again, the refusals (404, 422, 429,
 * 503), expiry, and an orphaned child of a dead service kept out of the new run's record. Every wait
 * is bounded; no test asserts a speed.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { codec, type TaskRecord } from '@switchyard/shared';
import { startRedisServer } from '../support/redis-server.js';
import { failingLmFit, lmFitError, startRWorker, useRWorkerService } from '../support/r-worker.js';
import { waitFor } from '../support/wait.js';

const service = useRWorkerService({
  LONG_TASK_STEP_MS: '100',
  MAX_CONCURRENT_TASKS: '2',
  SHUTDOWN_GRACE_MS: '500',
  HEARTBEAT_TTL_SECONDS: '3',
});
const { submit, record, waitForState, cancel, heartbeatExists, childPidOf, health, requeue, deadLetters } = service;

/** A task the worker gave up on: lm_fit whose predictor is longer than y fails at once. */
async function deadLetter(options?: Record<string, unknown>): Promise<TaskRecord> {
  const taskId = await submit('lm_fit', failingLmFit, service.worker, options);
  const failed = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'REVOKED']);
  expect(failed.state).toBe('FAILURE');
  await waitFor(async () => (await health()).body.running === 0, { what: 'the failed child to be let go' });
  return failed;
}

describe('dead letters and POST /tasks/<id>/requeue, end to end', () => {
  it('stores the request {task, args, options?} as JSON under rRequest, with the TTL of the record', async () => {
    const options = { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 0 }, expires: 600 };
    const withOptions = await submit('summary_stats', [[1, 0.30000000000000004, 1e-300]], service.worker, options);
    expect(JSON.parse((await service.redis.get(service.keys.rRequest(withOptions))) ?? 'null')).toEqual({
      task: 'summary_stats',
      args: [[1, 0.30000000000000004, 1e-300]],
      options,
    });
    const recordTtl = await service.redis.ttl(service.keys.task(withOptions));
    expect(Math.abs((await service.redis.ttl(service.keys.rRequest(withOptions))) - recordTtl)).toBeLessThanOrEqual(1);
    const plain = await submit('long_task', [2]);
    expect(JSON.parse((await service.redis.get(service.keys.rRequest(plain))) ?? 'null')).toEqual({ task: 'long_task', args: [2] });
    await waitForState(plain, ['SUCCESS']);
    expect(await deadLetters()).not.toContain(plain);
  });

  it('puts each FAILURE at the head of rDead, once; SUCCESS and REVOKED are not dead letters', async () => {
    const failed = await deadLetter();
    expect((await deadLetters())[0]).toBe(failed.task_id);
    const killed = await submit('long_task', [100], service.worker, { time_limit_ms: 300 });
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
    expect(service.worker.logLines().some((line) => line.msg === 'task requeued' && line.task_id === taskId)).toBe(true);
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
    const retries = service.worker.logLines().filter((line) => line.msg === 'retry started' && line.task_id === first.task_id);
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
    await service.redis.del(service.keys.rRequest(failed.task_id)); // as its expiry would
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
    const stored = await service.redis.getBuffer(service.keys.task(failed.task_id));
    const busy = [await submit('long_task', [15]), await submit('long_task', [15])];
    const answer = await requeue(failed.task_id);
    expect(answer.status).toBe(429);
    expect(answer.retryAfter).toBe('1');
    expect((answer.body as { error: { code: string } }).error.code).toBe('worker_busy');
    expect((await deadLetters())[0]).toBe(failed.task_id);
    expect(await service.redis.getBuffer(service.keys.task(failed.task_id))).toEqual(stored);
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
      REDIS_URL: service.redisServer.url,
      KEY_PREFIX: service.keys.prefix,
      LONG_TASK_STEP_MS: '1000', // the orphan's first write after STARTED comes a second later
      R_WORKER_CACHE_DIR: service.cacheDir,
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
      await service.redis.set(service.keys.task(taskId), codec.encode(lost), 'EX', 600);
      await service.redis.lpush(service.keys.rDead, taskId);
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
      KEY_PREFIX: service.keys.prefix,
      R_WORKER_CACHE_DIR: service.cacheDir,
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
