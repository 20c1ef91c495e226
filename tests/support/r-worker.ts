/**
 * The real R worker service (`Rscript r-worker/main.R`) for end-to-end tests: a launcher, and a
 * per-file service on its own redis-server with the helpers the tests drive it by (HTTP as the
 * gateway drives it; records read back with the shared reader, which finds them through their
 * locator; cancels sent through Redis with TaskQueues, as the gateway sends them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  TaskQueues,
  createKeyLayout,
  createRecordReader,
  createRedis,
  listWorkers,
  revoked,
  type KeyLayout,
  type RecordReader,
  type Redis,
  type ScriptOutcome,
  type TaskRecord,
  type WorkerInfo,
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
  port: number;
  process: ChildProcess;
  logLines(): LogLine[];
  output(): string;
  exited: Promise<number | string>;
  /** Signals the worker (and, with SIGKILL, every process of its group: the forked children too). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `Rscript r-worker/main.R` in its own process group (HOST 127.0.0.1 unless `env` says
 * otherwise) and, unless `waitForHealth` is false, waits until /health answers 200.
 */
export async function startRWorker(
  env: Record<string, string>,
  { waitForHealth = true, port: fixedPort }: { waitForHealth?: boolean; port?: number } = {},
): Promise<RWorker> {
  const port = fixedPort ?? (await freePort());
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
    port,
    process: child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine),
    exited,
    async stop(signal = 'SIGTERM') {
      if (running && child.pid !== undefined) {
        try {
          if (signal === 'SIGKILL') process.kill(-child.pid, 'SIGKILL');
          else child.kill(signal);
        } catch {
          // already gone
        }
      }
      const timer = setTimeout(() => {
        if (child.pid !== undefined && running) process.kill(-child.pid, 'SIGKILL');
      }, 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  if (waitForHealth) {
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
  }
  return worker;
}

/** lm_fit whose predictor is longer than y: it fails at once, with `lmFitError`. */
export const failingLmFit: unknown[] = [[1, 2, 3], { x: [1, 2, 3, 4] }];
export const lmFitError = 'every predictor column must hold as many values as y (3); x holds 4';

export interface SubmitOptions {
  target?: RWorker;
  options?: Record<string, unknown>;
  queue?: string;
  headers?: Record<string, string>;
}

/**
 * One test file's R service and the helpers that drive it. The fields are set by the beforeAll hook;
 * the helpers read them when called, so they may be destructured at the top of a file.
 */
export interface RWorkerService {
  redisServer: RedisServer;
  /** A client of `redisServer` for reading back what the services wrote. */
  redis: Redis;
  keys: KeyLayout;
  reader: RecordReader;
  /** The R task queues, as the gateway holds them (cancel, dead letters, stats). */
  queues: TaskQueues;
  worker: RWorker;
  /** The environment `worker` got (REDIS_URL, KEY_PREFIX, R_WORKER_CACHE_DIR and the file's settings). */
  env: Record<string, string>;
  /** Starts one more R service on the same Redis and prefix (`env` on top of the file's); stopped in afterAll. */
  startAnother(env?: Record<string, string>, options?: { port?: number }): Promise<RWorker>;
  /** POST /tasks with `body` (a string is sent as it is, anything else as JSON). */
  postTask(body: unknown, target?: RWorker, headers?: Record<string, string>): Promise<Response>;
  /** Submits a task, expecting 202 created, and returns its new id. */
  submit(task: string, args: unknown[], how?: SubmitOptions): Promise<string>;
  record(taskId: string): Promise<TaskRecord | null>;
  waitForState(taskId: string, states: string[], timeoutMs?: number): Promise<TaskRecord>;
  /** Cancels as the gateway does: cancel-7 with the REVOKED record `revoked(record, 'Cancelled while running')`. */
  cancel(taskId: string): Promise<ScriptOutcome>;
  /** The pid of the child running `taskId`, from `target`'s "task claimed" log line. */
  childPidOf(taskId: string, target?: RWorker): Promise<number>;
  /** Which of `workers` logged "task claimed" for `taskId` (the last one, if several did). */
  claimedBy(taskId: string, workers: RWorker[]): RWorker | undefined;
  health(target?: RWorker): Promise<{ status: number; body: Record<string, unknown> }>;
  workers(): Promise<WorkerInfo[]>;
}

export function useRWorkerService(fileEnv: Record<string, string>): RWorkerService {
  const others: RWorker[] = [];
  let cacheDir = '';
  const service = {
    async startAnother(env = {}, options = {}) {
      const worker = await startRWorker({ ...service.env, ...env }, options);
      others.push(worker);
      return worker;
    },

    async postTask(body, target = service.worker, headers = {}) {
      return fetch(`${target.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },

    async submit(task, args, { target = service.worker, options, queue, headers } = {}) {
      const taskId = randomUUID();
      const body = { task_id: taskId, task, args, ...(queue ? { queue } : {}), ...(options ? { options } : {}) };
      const response = await service.postTask(body, target, headers);
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ task_id: taskId, status: 'created' });
      return taskId;
    },

    async record(taskId) {
      return service.reader.read(taskId);
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

    async cancel(taskId) {
      const current = await service.record(taskId);
      if (current === null) throw new Error(`no record for ${taskId}`);
      return service.queues.cancel(revoked(current, 'Cancelled while running'));
    },

    async childPidOf(taskId, target = service.worker) {
      return waitFor(
        () => target.logLines().find((line) => line.msg === 'task claimed' && line.task_id === taskId)?.pid,
        { timeoutMs: 10_000, what: `the claim of task ${taskId}` },
      );
    },

    claimedBy(taskId, workers) {
      return workers.findLast((w) =>
        w.logLines().some((line) => line.msg === 'task claimed' && line.task_id === taskId),
      );
    },

    async health(target = service.worker) {
      const response = await fetch(`${target.url}/health`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },

    async workers() {
      return listWorkers(service.redis, service.keys);
    },
  } as RWorkerService;

  beforeAll(async () => {
    service.redisServer = await startRedisServer();
    const prefix = uniquePrefix('r-e2e');
    service.keys = createKeyLayout(prefix);
    service.redis = createRedis(service.redisServer.url, 'worker');
    service.redis.on('error', () => {});
    service.reader = createRecordReader(service.redis, service.keys);
    service.queues = new TaskQueues(service.redis, service.keys, 'r', 600);
    cacheDir = mkdtempSync(join(tmpdir(), 'switchyard-r-cache-'));
    service.env = { REDIS_URL: service.redisServer.url, KEY_PREFIX: prefix, ...fileEnv, R_WORKER_CACHE_DIR: cacheDir };
    service.worker = await startRWorker(service.env);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([service.worker, ...others].map((w) => w?.stop('SIGKILL')));
    service.redis?.disconnect();
    await service.redisServer?.stop();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  return service;
}
