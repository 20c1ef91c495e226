/**
 * Task outcomes and run times on the gateway's /metrics, from what the workers report: a real stack
 * with a Node worker and the R service runs tasks to every counted state, and the scrape (parsed
 * with Prometheus' parser) counts them by kind, queue, task and state, with run-time histograms;
 * a second gateway replica reports the same numbers.
 */
import { describe, expect, it } from 'vitest';
import { RUNTIME_BUCKETS_SECONDS } from '@switchyard/shared';
import { family, sampleValue, scrape, type MetricFamily } from './support/prometheus.js';
import { freePort } from './support/redis-server.js';
import { startService } from './support/services.js';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ctx = useStack({ label: 'task-metrics', withR: true, env: { LONG_TASK_STEP_MS: '100' } });

/** The pid of the R child running `taskId`, from the R service's "task claimed" log line. */
async function childPidOf(taskId: string): Promise<number> {
  return waitFor(
    () => {
      for (const service of ctx.stack.services) {
        for (const line of service.output().split('\n')) {
          if (!line.startsWith('{')) continue;
          const entry = JSON.parse(line) as { msg?: string; task_id?: string; pid?: number };
          if (entry.msg === 'task claimed' && entry.task_id === taskId && entry.pid !== undefined) return entry.pid;
        }
      }
      return undefined;
    },
    { timeoutMs: 15_000, what: `the R child of ${taskId}` },
  );
}

const outcome = (families: MetricFamily[], labels: Record<string, string>) =>
  sampleValue(families, 'switchyard_tasks_total', labels) ?? 0;

describe('task outcomes and run times on the gateway /metrics', () => {
  it('counts Node and R runs by kind, queue, task and state, with run-time histograms, the same on every replica', async () => {
    const { client } = ctx.stack;
    const finalState = async (worker: 'node' | 'r', body: unknown) =>
      (await client.runToCompletion(worker, body, 30_000)).at(-1)?.state;

    expect(await finalState('node', { task: 'add', args: [1, 2] })).toBe('SUCCESS');
    expect(await finalState('node', { task: 'add', args: [3, 4] })).toBe('SUCCESS');
    expect(
      await finalState('node', { task: 'long_task', args: [20], options: { time_limit_ms: 10, max_attempts: 1 } }),
    ).toBe('FAILURE');
    expect(await finalState('r', { task: 'summary_stats', args: [[1, 2, 3, 4]] })).toBe('SUCCESS');
    expect(
      await finalState('r', { task: 'long_task', args: [20], options: { time_limit_ms: 10, max_attempts: 1 } }),
    ).toBe('FAILURE');
    // An R child killed mid-task is a failed attempt ("worker lost"): RETRY, then the next attempt succeeds.
    const retried = await client.execute('r', {
      task: 'long_task',
      args: [3],
      options: { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 0 } },
    });
    process.kill(await childPidOf(retried.taskId!), 'SIGKILL');
    expect((await client.pollUntilDone('r', retried.taskId!, 30_000)).at(-1)?.state).toBe('SUCCESS');
    const running = await client.execute('node', { task: 'long_task', args: [50] });
    await waitFor(async () => (await client.collect('node', running.taskId!)).state === 'PROGRESS', {
      what: 'long_task to run',
    });
    const cancel = await fetch(`${ctx.stack.baseUrl}/node/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: running.taskId }),
    });
    expect(cancel.status).toBe(202);
    expect((await client.pollUntilDone('node', running.taskId!)).at(-1)?.state).toBe('REVOKED');

    const { status, families } = await scrape(`${ctx.stack.baseUrl}/metrics`);
    expect(status).toBe(200);
    expect(family(families, 'switchyard_tasks').type).toBe('counter');
    const node = { kind: 'node', queue: 'default' };
    const r = { kind: 'r', queue: 'default' };
    expect(outcome(families, { ...node, task: 'add', state: 'SUCCESS' })).toBe(2);
    expect(outcome(families, { ...node, task: 'long_task', state: 'FAILURE' })).toBe(1);
    expect(outcome(families, { ...node, task: 'long_task', state: 'REVOKED' })).toBe(1);
    expect(outcome(families, { ...r, task: 'summary_stats', state: 'SUCCESS' })).toBe(1);
    expect(outcome(families, { ...r, task: 'long_task', state: 'FAILURE' })).toBe(1);
    expect(outcome(families, { ...r, task: 'long_task', state: 'RETRY' })).toBe(1);
    expect(outcome(families, { ...r, task: 'long_task', state: 'SUCCESS' })).toBe(1);

    const runtime = family(families, 'switchyard_task_runtime_seconds');
    expect(runtime.type).toBe('histogram');
    for (const labels of [
      { ...node, task: 'add' },
      { ...r, task: 'summary_stats' },
    ]) {
      const buckets = runtime.samples
        .filter((s) => s.name === 'switchyard_task_runtime_seconds_bucket')
        .filter((s) => Object.entries(labels).every(([key, value]) => s.labels[key] === value));
      expect(buckets.map((s) => s.labels.le)).toEqual([...RUNTIME_BUCKETS_SECONDS.map(String), '+Inf']);
      const counts = buckets.map((s) => s.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b)); // cumulative
      const count = sampleValue(families, 'switchyard_task_runtime_seconds_count', labels);
      expect(counts.at(-1)).toBe(count);
      expect(sampleValue(families, 'switchyard_task_runtime_seconds_sum', labels)).toBeGreaterThanOrEqual(0);
    }
    expect(sampleValue(families, 'switchyard_task_runtime_seconds_count', { ...node, task: 'add' })).toBe(2);

    // Another replica, same Redis: the same task figures, whichever gateway is scraped.
    const port = await freePort();
    const replica = startService('gateway', { ...ctx.stack.env, HOST: '127.0.0.1', PORT: String(port) });
    try {
      await waitFor(
        async () => {
          if (replica.process.exitCode !== null) throw new Error(`replica exited early:\n${replica.output()}`);
          return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok;
        },
        { timeoutMs: 20_000, what: 'the second gateway' },
      );
      const other = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(sampleValue(other.families, 'switchyard_metrics_redis_up')).toBe(1);
      const taskFamilies = (all: MetricFamily[]) =>
        all.filter((f) => f.name === 'switchyard_tasks' || f.name === 'switchyard_task_runtime_seconds');
      expect(taskFamilies(other.families)).toEqual(taskFamilies(families));
    } finally {
      await replica.stop('SIGKILL');
    }
  });
});
