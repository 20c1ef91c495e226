/**
 * The R service's GET /metrics on its plumber port, with real R and a real redis-server, read with
 * Prometheus' parser: its process memory, children, slots and running tasks, the runs it ended by
 * task and state; the token it needs unless METRICS_PUBLIC=true; the start-up check of that setting.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { family, sampleValue, scrape } from './support/prometheus.js';
import { startRWorker, useRWorkerService } from './support/r-worker.js';
import { waitFor } from './support/wait.js';

const token = `tok-${randomUUID()}-${randomUUID()}`;
const auth = { authorization: `Bearer ${token}` };
const service = useRWorkerService({ R_SERVICE_TOKEN: token, LONG_TASK_STEP_MS: '100', MAX_CONCURRENT_TASKS: '2' });

/** VmRSS of a process, in bytes, as /proc says it. */
const residentBytes = (pid: number) =>
  Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

describe('R service GET /metrics', () => {
  it('needs the service token unless METRICS_PUBLIC=true; /health stays open', async () => {
    const refused = await fetch(`${service.worker.url}/metrics`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const scraped = await scrape(`${service.worker.url}/metrics`, auth);
    expect(scraped.status).toBe(200);
    expect(scraped.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');

    const open = await service.startAnother({ METRICS_PUBLIC: 'true' });
    expect((await scrape(`${open.url}/metrics`)).status).toBe(200);
    expect((await service.postTask({ task_id: randomUUID(), task: 'long_task', args: [1] }, open)).status).toBe(401);
    await open.stop('SIGKILL');
  });

  it('shows its memory, slots, running tasks and children, and counts the runs it ended by task and state', async () => {
    const done = await service.submit('summary_stats', [[1, 2, 3, 4]], { headers: auth });
    expect((await service.waitForState(done, ['SUCCESS', 'FAILURE'])).state).toBe('SUCCESS');
    const limited = await service.submit('long_task', [20], {
      headers: auth,
      options: { time_limit_ms: 10, max_attempts: 1 },
    });
    expect((await service.waitForState(limited, ['SUCCESS', 'FAILURE'])).state).toBe('FAILURE');
    const running = await service.submit('long_task', [100], { headers: auth });
    await service.waitForState(running, ['PROGRESS']);
    const childPid = await service.childPidOf(running);

    const during = await scrape(`${service.worker.url}/metrics`, auth);
    const value = (name: string, labels?: Record<string, string>) => sampleValue(during.families, name, labels);
    expect(value('switchyard_worker_concurrency')).toBe(2);
    expect(value('switchyard_worker_running_tasks')).toBe(1);
    expect(value('switchyard_r_worker_children')).toBe(1);
    expect(value('switchyard_r_worker_children_resident_memory_bytes')).toBeGreaterThan(0);
    // Its own memory, as /proc says: the two readings are moments apart, so within a factor of two.
    const rss = value('process_resident_memory_bytes')!;
    const ownRss = residentBytes(service.worker.process.pid!);
    expect(rss).toBeGreaterThan(ownRss / 2);
    expect(rss).toBeLessThan(ownRss * 2);
    expect(value('process_virtual_memory_bytes')).toBeGreaterThan(rss);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value('process_open_fds')).toBeGreaterThan(2);
    expect(value('process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
    const health = await service.health();
    expect(family(during.families, 'switchyard_worker_info').samples).toEqual([
      {
        name: 'switchyard_worker_info',
        labels: { kind: 'r', worker_id: health.body.worker_id, queues: 'default' },
        value: 1,
      },
    ]);
    expect(family(during.families, 'switchyard_worker_tasks').type).toBe('counter');
    expect(value('switchyard_worker_tasks_total', { task: 'summary_stats', state: 'success' })).toBe(1);
    expect(value('switchyard_worker_tasks_total', { task: 'long_task', state: 'failure' })).toBe(1);
    expect(childPid).toBeGreaterThan(0);

    expect(await service.cancel(running)).toBe('running'); // cancel requested; the R service kills the child
    await service.waitForState(running, ['REVOKED']);
    const after = await waitFor(
      async () => {
        const scraped = await scrape(`${service.worker.url}/metrics`, auth);
        return sampleValue(scraped.families, 'switchyard_worker_running_tasks') === 0 ? scraped : null;
      },
      { timeoutMs: 10_000, what: 'the cancelled run to be settled' },
    );
    expect(sampleValue(after.families, 'switchyard_worker_tasks_total', { task: 'long_task', state: 'revoked' })).toBe(
      1,
    );
    expect(sampleValue(after.families, 'switchyard_r_worker_children')).toBe(0);
  });

  it('a bad METRICS_PUBLIC stops the service with exit status 2 and a message naming it', async () => {
    const refused = await startRWorker({ ...service.env, METRICS_PUBLIC: 'yes' }, { waitForHealth: false });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain('METRICS_PUBLIC must be one of: true, false (got "yes")');
  });
});
