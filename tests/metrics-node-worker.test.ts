/**
 * A Node worker's own GET /metrics (METRICS_PORT) on a real stack, read with Prometheus' parser: the
 * runs it ended by task and state, what it runs now, who it is, its process metrics; and the
 * start-up checks of the new settings.
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { family, sampleValue, scrape } from './support/prometheus.js';
import { freePort } from './support/redis-server.js';
import { startService } from './support/services.js';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ctx = useStack({ label: 'worker-metrics', nodeWorkers: 0, env: { LONG_TASK_STEP_MS: '100' } });

async function workerWithMetrics() {
  const port = await freePort();
  const worker = ctx.stack.startWorker({ METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitFor(async () => (await fetch(url).catch(() => null))?.ok, { timeoutMs: 20_000, what: 'worker metrics' });
  return { worker, url };
}

describe('Node worker GET /metrics', () => {
  it('counts the runs it ended by task and state, shows what it runs now, and has process metrics', async () => {
    const { url } = await workerWithMetrics();
    const { client } = ctx.stack;
    for (const args of [
      [1, 2],
      [3, 4],
    ]) {
      expect((await client.runToCompletion('node', { task: 'add', args })).at(-1)?.state).toBe('SUCCESS');
    }
    const doomed = await client.runToCompletion('node', {
      task: 'long_task',
      args: [20],
      options: { time_limit_ms: 10, max_attempts: 1 },
    });
    expect(doomed.at(-1)?.state).toBe('FAILURE');
    const running = await client.execute('node', { task: 'long_task', args: [50] });
    await waitFor(async () => (await client.collect('node', running.taskId!)).state === 'PROGRESS', {
      what: 'long_task to run',
    });

    const during = await scrape(url);
    expect(during.status).toBe(200);
    expect(during.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const runs = family(during.families, 'switchyard_worker_tasks');
    expect(runs.type).toBe('counter');
    expect(sampleValue(during.families, 'switchyard_worker_tasks_total', { task: 'add', state: 'success' })).toBe(2);
    expect(sampleValue(during.families, 'switchyard_worker_tasks_total', { task: 'long_task', state: 'failure' })).toBe(
      1,
    );
    expect(sampleValue(during.families, 'switchyard_worker_running_tasks')).toBe(1);
    expect(sampleValue(during.families, 'switchyard_worker_concurrency')).toBe(10);
    const workers = (await (await fetch(`${ctx.stack.baseUrl}/workers`)).json()) as {
      workers: { id: string; kind: string }[];
    };
    const info = family(during.families, 'switchyard_worker_info').samples;
    expect(info).toEqual([
      {
        name: 'switchyard_worker_info',
        labels: { kind: 'node', worker_id: workers.workers[0]?.id, queues: 'default' },
        value: 1,
      },
    ]);
    expect(sampleValue(during.families, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(during.families, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // A running task's cancel is accepted (202) and reaches the worker, which ends the run as revoked.
    const cancel = await fetch(`${ctx.stack.baseUrl}/node/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: running.taskId }),
    });
    expect(cancel.status).toBe(202);
    await client.pollUntilDone('node', running.taskId!);
    const after = await scrape(url);
    expect(sampleValue(after.families, 'switchyard_worker_running_tasks')).toBe(0);
    expect(sampleValue(after.families, 'switchyard_worker_tasks_total', { task: 'long_task', state: 'revoked' })).toBe(
      1,
    );
  });

  it('answers 404 on any other path of the metrics port and 405 to another method', async () => {
    const { url } = await workerWithMetrics();
    const other = await fetch(url.replace('/metrics', '/health'));
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'route_not_found' } });
    const posted = await fetch(url, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
  });

  it('a METRICS_PORT that is taken stops the worker with exit status 2, saying which variable moves it', async () => {
    const taken = createServer();
    const port = await freePort();
    taken.listen(port, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const worker = startService('node-worker', {
        ...ctx.stack.env,
        METRICS_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
      });
      expect(await worker.exited).toBe(2);
      expect(worker.output()).toContain(`port ${port} on 127.0.0.1 is already in use; set METRICS_PORT to another`);
    } finally {
      taken.close();
    }
  });

  it.each([
    ['METRICS_PORT', 'abc', 'METRICS_PORT must be a whole number between 0 and 65535 (got "abc")'],
    ['METRICS_HOST', ' ', 'METRICS_HOST must not be empty'],
  ])('a bad %s=%j stops the worker with exit status 2 and a message naming it', async (name, value, message) => {
    const worker = startService('node-worker', { ...ctx.stack.env, METRICS_PORT: '9', [name]: value });
    expect(await worker.exited).toBe(2);
    expect(worker.output()).toContain(message);
  });
});
