/**
 * The real R worker service across a Redis crash: Redis (AOF, appendfsync always) is SIGKILLed while
 * a long_task runs and started again on the same port and data. The task's child waits for Redis
 * (REDIS_RETRY_SECONDS) and the task ends SUCCESS; meanwhile POST /tasks and GET /health answer 503
 * without waiting. A child whose REDIS_RETRY_SECONDS is shorter than the outage abandons its attempt
 * without writing: its lease runs out and the task is redelivered, ending SUCCESS with attempts 2.
 * Every wait is bounded; the one time checked is that a 503 comes far sooner than
 * REDIS_RETRY_SECONDS, i.e. without waiting for Redis.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyLayout,
  createRecordReader,
  createRedis,
  type KeyLayout,
  type RecordReader,
  type Redis,
  type TaskRecord,
} from '@switchyard/shared';
import { startRWorker, type RWorker } from '../support/r-worker.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const aofDir = mkdtempSync(join(tmpdir(), 'switchyard-r-aof-'));
const cacheDir = mkdtempSync(join(tmpdir(), 'switchyard-r-cache-'));
const persistent = (port?: number) =>
  startRedisServer({
    ...(port === undefined ? {} : { port }),
    extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', aofDir],
  });

let redisServer: RedisServer;
let redis: Redis;
let keys: KeyLayout;
let reader: RecordReader;
let worker: RWorker;

const startWorker = (env: Record<string, string> = {}) =>
  startRWorker({
    REDIS_URL: redisServer.url,
    KEY_PREFIX: keys.prefix,
    LONG_TASK_STEP_MS: '100',
    R_WORKER_CACHE_DIR: cacheDir,
    ...env,
  });

beforeAll(async () => {
  redisServer = await persistent();
  keys = createKeyLayout(uniquePrefix('r-outage'));
  redis = createRedis(redisServer.url, 'worker');
  redis.on('error', () => {}); // it reconnects by itself after the restart
  reader = createRecordReader(redis, keys);
  worker = await startWorker({ REDIS_RETRY_SECONDS: '30' });
}, 60_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  redis?.disconnect();
  await redisServer?.stop();
  rmSync(aofDir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

async function submit(target: RWorker, total: number, queue = 'default'): Promise<string> {
  const taskId = randomUUID();
  const response = await postTask(target, taskId, total, queue);
  expect(response.status).toBe(202);
  return taskId;
}

function postTask(target: RWorker, taskId: string, total: number, queue = 'default'): Promise<Response> {
  return fetch(`${target.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ task_id: taskId, task: 'long_task', args: [total], queue }),
  });
}

function waitForState(taskId: string, states: string[], timeoutMs = 30_000): Promise<TaskRecord> {
  return waitFor(
    async () => {
      const current = await reader.read(taskId);
      return current !== null && states.includes(current.state) ? current : null;
    },
    { timeoutMs, intervalMs: 50, what: `task ${taskId} to reach ${states.join('/')}` },
  );
}

/** SIGKILLs Redis, runs `during` while it is down, then starts it again on the same port and AOF. */
async function redisOutage(during: () => Promise<void>): Promise<void> {
  await redisServer.stop({ crash: true });
  await during();
  redisServer = await persistent(redisServer.port);
}

describe('the R worker service across a Redis crash and restart', () => {
  it('a running long_task waits for Redis and ends SUCCESS with its result; during the outage POST /tasks and /health answer 503 at once', async () => {
    const taskId = await submit(worker, 20);
    await waitForState(taskId, ['PROGRESS'], 15_000);
    await redisOutage(async () => {
      const asked = Date.now();
      const refused = await postTask(worker, randomUUID(), 1);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('redis_unavailable');
      expect((await fetch(`${worker.url}/health`)).status).toBe(503);
      expect(Date.now() - asked).toBeLessThan(5_000); // far below REDIS_RETRY_SECONDS (30 s): no waiting for Redis
      await sleep(1_000);
    });
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'REVOKED']);
    expect(final).toMatchObject({ state: 'SUCCESS', result: 20, current: 20, attempts: 1, error: null });
    const about = worker.logLines().filter((line) => line.task_id === taskId).map((line) => line.msg);
    expect(about).toContain('Redis unavailable: the task waits for it');
    expect(about).toContain('Redis reachable again: the task goes on');
    // The service serves again.
    const after = await submit(worker, 2);
    expect(await waitForState(after, ['SUCCESS', 'FAILURE'])).toMatchObject({ state: 'SUCCESS', result: 2 });
  }, 60_000);

  it('with Redis away longer than REDIS_RETRY_SECONDS the child abandons its attempt, and the task is redelivered once its lease runs out', async () => {
    // A queue of its own, so that the first service (which shares the prefix) cannot take the task.
    const impatient = await startWorker({ REDIS_RETRY_SECONDS: '1', LEASE_MS: '1500', QUEUES: 'impatient' });
    try {
      const taskId = await submit(impatient, 30, 'impatient');
      await waitForState(taskId, ['PROGRESS'], 15_000);
      await redisOutage(() =>
        waitFor(() => impatient.logLines().find((l) => l.task_id === taskId && l.msg.startsWith('attempt abandoned')), {
          timeoutMs: 15_000,
          what: 'the child to give up',
        })
          .catch((error: unknown) => {
            throw new Error(`${String(error)}\n${impatient.output().slice(-3000)}`);
          })
          .then(() => undefined),
      );
      const final = await waitForState(taskId, ['SUCCESS', 'FAILURE', 'REVOKED']);
      expect(final).toMatchObject({ state: 'SUCCESS', result: 30, attempts: 2, error: null });
    } finally {
      await impatient.stop('SIGKILL');
    }
  }, 60_000);
});
