/**
 * The real R worker service (`Rscript r-worker/main.R`) for end-to-end tests: a launcher, and a
 * per-file service on its own redis-server with the helpers the tests drive it by (HTTP as the
 * gateway drives it; status records read back with the shared TypeScript reader and key layout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  createKeyLayout,
  createRedis,
  readTaskRecord,
  type KeyLayout,
  type Redis,
  type TaskRecord,
} from '@switchyard/shared';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from './redis-server.js';
import { REPO_ROOT } from './services.js';
import { waitFor } from './wait.js';

export interface LogLine {
  msg: string;
  level: string;
  task_id?: string;
  pid?: number;
  [field: string]: unknown;
}

export interface RWorker {
  url: string;
  process: ChildProcess;
  logLines(): LogLine[];
  output(): string;
  exited: Promise<number | string>;
  /** Signals the worker (and, with SIGKILL, every process of its group: the forked children too). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `Rscript r-worker/main.R` in its own process group and waits until /health answers 200. */
export async function startRWorker(env: Record<string, string>): Promise<RWorker> {
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

/** An answer of the R service as the tests compare it: status, Retry-After and JSON body. */
export interface Answer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

/** lm_fit whose predictor is longer than y: it fails at once, with `lmFitError`. */
export const failingLmFit: unknown[] = [[1, 2, 3], { x: [1, 2, 3, 4] }];
export const lmFitError = 'every predictor column must hold as many values as y (3); x holds 4';

/**
 * One test file's R service and the helpers that drive it. The fields are set by the beforeAll hook;
 * the helpers read them when called, so they may be destructured at the top of a file. A helper
 * taking `target` talks to `worker` unless given another service (one a test started on the same
 * Redis and prefix with `startRWorker`).
 */
export interface RWorkerService {
  redisServer: RedisServer;
  /** A client of `redisServer` for reading back what the service wrote. */
  redis: Redis;
  keys: KeyLayout;
  worker: RWorker;
  /** R_WORKER_CACHE_DIR of `worker`, for services a test starts beside it. */
  cacheDir: string;
  /** POST /tasks with `body` (a string is sent as it is, anything else as JSON). */
  postTask(body: unknown, target?: RWorker): Promise<Response>;
  /** Submits a task, expecting 202 created, and returns its new id. */
  submit(task: string, args: unknown[], target?: RWorker, options?: Record<string, unknown>): Promise<string>;
  record(taskId: string): Promise<TaskRecord | null>;
  waitForState(taskId: string, states: string[], timeoutMs?: number): Promise<TaskRecord>;
  /** DELETE /tasks/<id>. */
  cancel(taskId: string, target?: RWorker): Promise<{ status: number; body: unknown }>;
  heartbeatExists(taskId: string): Promise<boolean>;
  /** The pid of the child running `taskId`, from the worker's "task accepted" log line. */
  childPidOf(taskId: string): Promise<number>;
  /** GET /health of `worker`. */
  health(): Promise<{ status: number; body: { status?: string; running?: number; max?: number } }>;
  /** POST /tasks/<id>/requeue. */
  requeue(taskId: string, target?: RWorker): Promise<Answer>;
  /** The task ids on the R dead-letter list (rDead), newest first. */
  deadLetters(): Promise<string[]>;
}

/**
 * Registers beforeAll/afterAll hooks that start a redis-server and an R service on it for the test
 * file (with `env` on top of REDIS_URL, a fresh KEY_PREFIX and a fresh R_WORKER_CACHE_DIR), and stop
 * both afterwards.
 */
export function useRWorkerService(env: Record<string, string>): RWorkerService {
  const service = {
    async postTask(body, target = service.worker) {
      return fetch(`${target.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },

    async submit(task, args, target = service.worker, options) {
      const taskId = randomUUID();
      const response = await service.postTask({ task_id: taskId, task, args, ...(options ? { options } : {}) }, target);
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ task_id: taskId, status: 'created' });
      return taskId;
    },

    async record(taskId) {
      return readTaskRecord(service.redis, service.keys, taskId);
    },

    async waitForState(taskId, states, timeoutMs = 15_000) {
      return waitFor(
        async () => {
          const current = await service.record(taskId);
          return current !== null && states.includes(current.state) ? current : null;
        },
        { timeoutMs, intervalMs: 20, what: `task ${taskId} to reach ${states.join('/')}` },
      );
    },

    async cancel(taskId, target = service.worker) {
      const response = await fetch(`${target.url}/tasks/${taskId}`, {
        method: 'DELETE',
        headers: { connection: 'close' },
      });
      return { status: response.status, body: await response.json() };
    },

    async heartbeatExists(taskId) {
      return (await service.redis.exists(service.keys.rHeartbeat(taskId))) === 1;
    },

    async childPidOf(taskId) {
      return waitFor(
        () => service.worker.logLines().find((line) => line.msg === 'task accepted' && line.task_id === taskId)?.pid,
        { timeoutMs: 5_000, what: `the log line of task ${taskId}` },
      );
    },

    async health() {
      const response = await fetch(`${service.worker.url}/health`);
      return {
        status: response.status,
        body: (await response.json()) as { status?: string; running?: number; max?: number },
      };
    },

    async requeue(taskId, target = service.worker) {
      const response = await fetch(`${target.url}/tasks/${taskId}/requeue`, {
        method: 'POST',
        headers: { connection: 'close' },
      });
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
    },

    async deadLetters() {
      return service.redis.lrange(service.keys.rDead, 0, -1);
    },
  } as RWorkerService;

  beforeAll(async () => {
    service.redisServer = await startRedisServer();
    const prefix = uniquePrefix('r-e2e');
    service.keys = createKeyLayout(prefix);
    service.redis = createRedis(service.redisServer.url, 'worker');
    service.cacheDir = mkdtempSync(join(tmpdir(), 'switchyard-r-cache-'));
    service.worker = await startRWorker({
      REDIS_URL: service.redisServer.url,
      KEY_PREFIX: prefix,
      ...env,
      R_WORKER_CACHE_DIR: service.cacheDir,
    });
  }, 60_000);

  afterAll(async () => {
    await service.worker?.stop('SIGKILL');
    service.redis?.disconnect();
    await service.redisServer?.stop();
    if (service.cacheDir) rmSync(service.cacheDir, { recursive: true, force: true });
  });

  return service;
}
