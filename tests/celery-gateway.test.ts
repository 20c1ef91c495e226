/**
 * Switchyard's gateway in front of real Python Celery workers (CELERY_BROKER_URL): the seed's flow
 * unchanged — the seed's own long_task in a real `celery worker`, POST /celery/execute {"total": n},
 * collect shows `current` rising, then the result — plus a named task, a failure, and the seed's R
 * paths (/rserve) as aliases of /r.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/services.js';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ctx = useStack({
  label: 'celery',
  nodeWorkers: 0,
  withR: true,
  env: { LONG_TASK_STEP_MS: '100', RATE_LIMIT_PER_MINUTE: '0' },
  // Celery's broker and result backend: database 1 of the same Redis.
  gatewayEnv: (redis) => ({ CELERY_BROKER_URL: `${redis.url}/1` }),
});

/** Debian's Python, where python3-celery is installed (another python3 may come first on PATH). */
const DEBIAN_PYTHON = '/usr/bin/python3';

async function startCeleryWorker(brokerUrl: string) {
  const child = spawn(
    DEBIAN_PYTHON,
    [
      '-m',
      'celery',
      '-A',
      'seed_tasks',
      'worker',
      '--pool=solo',
      '--loglevel=INFO',
      '--without-gossip',
      '--without-mingle',
      '--without-heartbeat',
    ],
    {
      cwd: `${REPO_ROOT}/tests/celery`,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PYTHONUNBUFFERED: '1', // so its log lines ("ready.") arrive while it runs
        CELERY_BROKER_URL: brokerUrl,
        LONG_TASK_STEP_SECONDS: '0.2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('ready.'), { timeoutMs: 30_000, what: 'the Celery worker' }).catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n${output}`);
    },
  );
  return {
    output: () => output,
    stop: () => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

describe('the gateway in front of real Celery workers', () => {
  it('runs the seed flow: POST /celery/execute {"total": 5}, collect shows current rising, then the result', async () => {
    const brokerUrl = `${ctx.redis.url}/1`;
    const worker = await startCeleryWorker(brokerUrl);
    const gateway = ctx.stack.baseUrl;
    try {
      const accepted = await fetch(`${gateway}/celery/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ total: 5 }),
      });
      expect(accepted.status).toBe(202);
      const { task_id: taskId, status } = (await accepted.json()) as { task_id: string; status: string };
      expect(status).toBe('created');
      const seen: { state: string; current: number }[] = [];
      const done = await waitFor(
        async () => {
          const record = (await (await fetch(`${gateway}/celery/collect?task_id=${taskId}`)).json()) as {
            state: string;
            current: number;
            total: number;
            status: string;
            result: unknown;
          };
          if (seen.at(-1)?.current !== record.current || seen.at(-1)?.state !== record.state) seen.push(record);
          return record.state === 'SUCCESS' ? record : null;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: 'the Celery long_task to finish' },
      );
      expect(done).toMatchObject({ state: 'SUCCESS', current: 5, total: 5, status: 'Task completed!', result: 5 });
      const progress = seen.filter((s) => s.state === 'PROGRESS');
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.map((s) => s.current)).toEqual([...progress.map((s) => s.current)].sort((a, b) => a - b));
      expect(worker.output()).toContain(taskId);

      // A named task with its result, and a failure with Celery's exception.
      const post = async (body: unknown) =>
        (
          (await (
            await fetch(`${gateway}/celery/execute`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            })
          ).json()) as { task_id: string }
        ).task_id;
      const collect = async (id: string) =>
        (await (await fetch(`${gateway}/celery/collect?task_id=${id}`)).json()) as {
          state: string;
          result: unknown;
          error: string | null;
        };
      const added = await post({ task: 'add', args: [4, 6] });
      const failed = await post({ task: 'fails', args: ['boom'] });
      expect(
        await waitFor(async () => ((await collect(added)).state === 'SUCCESS' ? collect(added) : null)),
      ).toMatchObject({ result: 10 });
      expect(
        await waitFor(async () => ((await collect(failed)).state === 'FAILURE' ? collect(failed) : null)),
      ).toMatchObject({ error: 'ValueError: boom' });
      expect((await fetch(`${gateway}/celery/collect?task_id=2b1a3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d`)).status).toBe(404);
    } finally {
      worker.stop();
    }
  }, 90_000);

  it('/rserve/execute and /rserve/collect, the seed R paths, are aliases of /r', async () => {
    const { baseUrl } = ctx.stack;
    const accepted = await fetch(`${baseUrl}/rserve/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ total: 2 }),
    });
    expect(accepted.status).toBe(202);
    const { task_id: taskId } = (await accepted.json()) as { task_id: string };
    const done = await waitFor(
      async () => {
        const record = (await (await fetch(`${baseUrl}/rserve/collect?task_id=${taskId}`)).json()) as {
          state: string;
          worker: string;
          result: unknown;
        };
        return record.state === 'SUCCESS' ? record : null;
      },
      { timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ worker: 'r', result: 2 });
  }, 30_000);
});
