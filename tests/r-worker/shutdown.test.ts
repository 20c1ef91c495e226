/**
 * Stopping the real R worker service (`Rscript r-worker/main.R` on a real redis-server): on SIGINT and
 * on SIGTERM it stops accepting, fails a task that outlives SHUTDOWN_GRACE_MS, frees its port, leaves
 * no process of its group and exits 0. Every wait is bounded; no test asserts a speed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startRWorker, useRWorkerService, type RWorker } from '../support/r-worker.js';

const service = useRWorkerService({
  LONG_TASK_STEP_MS: '100',
  MAX_CONCURRENT_TASKS: '2',
  SHUTDOWN_GRACE_MS: '500',
  HEARTBEAT_TTL_SECONDS: '3',
});
const { submit, record, waitForState } = service;

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
    await expectGracefulStop(service.worker, 'SIGINT');
  });

  it('on SIGTERM does the same (its handler is built from r-worker/src/sigterm.c with the C compiler)', async (context) => {
    const second = await startRWorker({
      REDIS_URL: service.redisServer.url,
      KEY_PREFIX: service.keys.prefix,
      LONG_TASK_STEP_MS: '100',
      SHUTDOWN_GRACE_MS: '500',
      R_WORKER_CACHE_DIR: service.cacheDir,
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
