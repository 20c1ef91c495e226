/**
 * The gateway's GET /metrics on a real stack (gateway, a Node worker, redis-server), read with
 * Prometheus' own parser: requests by route template and status, the latency histogram, queue
 * gauges equal to GET /queues, process metrics, who may scrape, and a scrape while Redis is stalled.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayClient } from './support/gateway-client.js';
import { family, sampleValue, scrape, type MetricFamily } from './support/prometheus.js';
import { freePort, startRedisServer } from './support/redis-server.js';
import { startService, type ServiceProcess } from './support/services.js';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const API_KEY = 'metrics-test-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const ctx = useStack({ label: 'metrics', env: { LONG_TASK_STEP_MS: '50' }, gatewayEnv: () => ({ API_KEYS: API_KEY }) });
const extraGateways: ServiceProcess[] = [];
afterAll(async () => {
  await Promise.all(extraGateways.map((gateway) => gateway.stop('SIGKILL')));
});

const metricsOf = (baseUrl: string, headers: Record<string, string> = AUTH) => scrape(`${baseUrl}/metrics`, headers);
const client = () => gatewayClient(ctx.stack.baseUrl, AUTH);
const requests = (families: MetricFamily[], labels: Record<string, string>) =>
  sampleValue(families, 'switchyard_http_requests_total', labels) ?? 0;

/** Starts one more gateway on the stack's Redis and prefix, with `env` on top; waits until `until` answers 200. */
async function startGateway(
  env: Record<string, string>,
  { until = '/readyz' }: { until?: '/readyz' | '/healthz' } = {},
): Promise<{ baseUrl: string; process: ServiceProcess }> {
  const port = await freePort();
  const gateway = startService('gateway', { ...ctx.stack.env, HOST: '127.0.0.1', PORT: String(port), ...env });
  extraGateways.push(gateway);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (gateway.process.exitCode !== null) throw new Error(`gateway exited early:\n${gateway.output()}`);
      return (await fetch(`${baseUrl}${until}`).catch(() => null))?.ok;
    },
    { timeoutMs: 20_000, what: 'the extra gateway' },
  );
  return { baseUrl, process: gateway };
}

describe('gateway GET /metrics', () => {
  it('needs an API key when keys are on; a bearer token, as Prometheus sends it, opens it', async () => {
    const refused = await fetch(`${ctx.stack.baseUrl}/metrics`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const scraped = await metricsOf(ctx.stack.baseUrl);
    expect(scraped.status).toBe(200);
    expect(scraped.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(family(scraped.families, 'switchyard_http_requests').type).toBe('counter');
  });

  it('counts requests by route template and status, never by raw path, and times them by route', async () => {
    const before = (await metricsOf(ctx.stack.baseUrl)).families;
    const missingQueues = [`no-such-${randomUUID()}`, `no-such-${randomUUID()}`];
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await client().execute('node', { task: 'add', args: [i, 1] });
      expect(reply.status).toBe(202);
      ids.push(reply.taskId!);
    }
    expect((await client().execute('node', { task: 'add', args: ['four', 6] })).status).toBe(422);
    for (const name of missingQueues) {
      expect((await fetch(`${ctx.stack.baseUrl}/queues/node/${name}`, { headers: AUTH })).status).toBe(404);
    }
    expect((await fetch(`${ctx.stack.baseUrl}/no/such/${randomUUID()}`, { headers: AUTH })).status).toBe(404);
    expect((await fetch(`${ctx.stack.baseUrl}/node/execute`, { headers: AUTH })).status).toBe(405);
    for (const id of ids) await client().pollUntilDone('node', id);

    const after = await metricsOf(ctx.stack.baseUrl);
    const delta = (labels: Record<string, string>) => requests(after.families, labels) - requests(before, labels);
    expect(delta({ method: 'POST', route: '/node/execute', status: '202' })).toBe(3);
    expect(delta({ method: 'POST', route: '/node/execute', status: '422' })).toBe(1);
    expect(delta({ method: 'GET', route: '/node/execute', status: '405' })).toBe(1);
    expect(delta({ method: 'GET', route: '/queues/{kind}/{name}', status: '404' })).toBe(2);
    expect(delta({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(delta({ method: 'GET', route: '/node/collect', status: '200' })).toBeGreaterThanOrEqual(3);
    // The scrape that produced `before` was counted once it ended (the 401 of the first test too).
    expect(delta({ method: 'GET', route: '/metrics', status: '200' })).toBe(1);
    expect(requests(after.families, { method: 'GET', route: '/metrics', status: '401' })).toBe(1);
    // No id or queue name became a label value.
    const routes = new Set(family(after.families, 'switchyard_http_requests').samples.map((s) => s.labels.route));
    expect([...routes].filter((route) => /no-such|[0-9a-f]{8}-[0-9a-f]{4}/.test(route ?? ''))).toEqual([]);

    const latency = family(after.families, 'switchyard_http_request_duration_seconds');
    expect(latency.type).toBe('histogram');
    const count = (families: MetricFamily[]) =>
      sampleValue(families, 'switchyard_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/node/execute',
      }) ?? 0;
    expect(count(after.families) - count(before)).toBe(4);
    const infBucket = sampleValue(after.families, 'switchyard_http_request_duration_seconds_bucket', {
      method: 'POST',
      route: '/node/execute',
      le: '+Inf',
    });
    expect(infBucket).toBe(count(after.families));
  });

  it('per queue and kind: waiting, active, delayed, dead, paused and consumers equal what GET /queues says', async () => {
    const parked = `parked-${randomUUID().slice(0, 8)}`;
    expect(
      (await fetch(`${ctx.stack.baseUrl}/queues/node/${parked}/pause`, { method: 'POST', headers: AUTH })).status,
    ).toBe(200);
    for (let i = 0; i < 2; i++) {
      expect((await client().execute('node', { task: 'add', args: [1, i], queue: parked })).status).toBe(202);
    }
    const later = await client().execute('node', {
      task: 'add',
      args: [2, 2],
      queue: parked,
      options: { countdown: 600 },
    });
    expect(later.status).toBe(202);
    // A task that always fails (its time limit is shorter than one step) becomes a dead letter of `default`.
    const doomed = await client().execute('node', {
      task: 'long_task',
      args: [20],
      options: { time_limit_ms: 10, max_attempts: 1 },
    });
    expect((await client().pollUntilDone('node', doomed.taskId!)).at(-1)?.state).toBe('FAILURE');

    const listed = (await (await fetch(`${ctx.stack.baseUrl}/queues`, { headers: AUTH })).json()) as {
      queues: {
        kind: string;
        name: string;
        waiting: number;
        active: number;
        delayed: number;
        dead: number;
        paused: boolean;
        consumers: number;
      }[];
    };
    const { families } = await metricsOf(ctx.stack.baseUrl);
    const gauge = (name: string, kind: string, queue: string) => sampleValue(families, name, { kind, queue });
    expect(listed.queues.length).toBeGreaterThanOrEqual(2);
    for (const queue of listed.queues) {
      expect({
        waiting: gauge('switchyard_queue_waiting', queue.kind, queue.name),
        active: gauge('switchyard_queue_active', queue.kind, queue.name),
        delayed: gauge('switchyard_queue_delayed', queue.kind, queue.name),
        dead: gauge('switchyard_queue_dead', queue.kind, queue.name),
        paused: gauge('switchyard_queue_paused', queue.kind, queue.name),
        consumers: gauge('switchyard_queue_consumers', queue.kind, queue.name),
      }).toEqual({
        waiting: queue.waiting,
        active: queue.active,
        delayed: queue.delayed,
        dead: queue.dead,
        paused: queue.paused ? 1 : 0,
        consumers: queue.consumers,
      });
    }
    expect(gauge('switchyard_queue_waiting', 'node', parked)).toBe(2);
    expect(gauge('switchyard_queue_delayed', 'node', parked)).toBe(1);
    expect(gauge('switchyard_queue_paused', 'node', parked)).toBe(1);
    expect(gauge('switchyard_queue_consumers', 'node', parked)).toBe(0);
    expect(gauge('switchyard_queue_oldest_waiting_age_seconds', 'node', parked)).toBeGreaterThan(0);
    expect(gauge('switchyard_queue_dead', 'node', 'default')).toBeGreaterThanOrEqual(1);
    expect(gauge('switchyard_queue_consumers', 'node', 'default')).toBe(1);
    expect(sampleValue(families, 'switchyard_metrics_redis_up')).toBe(1);
  });

  it('has Node.js process metrics: CPU, memory, event loop lag, heap', async () => {
    const { families } = await metricsOf(ctx.stack.baseUrl);
    expect(sampleValue(families, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleValue(families, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(family(families, 'nodejs_heap_size_used_bytes').samples[0]?.value).toBeGreaterThan(0);
  });

  it('with METRICS_PUBLIC=true, /metrics opens without a key while the API still needs one', async () => {
    const { baseUrl } = await startGateway({ API_KEYS: API_KEY, METRICS_PUBLIC: 'true' });
    const scraped = await metricsOf(baseUrl, {});
    expect(scraped.status).toBe(200);
    expect(family(scraped.families, 'switchyard_queue_waiting').samples.length).toBeGreaterThan(0);
    expect((await fetch(`${baseUrl}/queues`)).status).toBe(401);
  });

  it('a stalled Redis: the scrape answers without queue figures and redis_up 0 after METRICS_READ_TIMEOUT_MS, and recovers', async () => {
    // A gateway on a Redis of its own, which is then stopped dead (SIGSTOP) as a Redis stuck on a slow command would be.
    const redis = await startRedisServer();
    try {
      const { baseUrl, process: gateway } = await startGateway({
        REDIS_URL: redis.url,
        METRICS_PUBLIC: 'true',
        METRICS_READ_TIMEOUT_MS: '300',
      });
      expect(sampleValue((await metricsOf(baseUrl, {})).families, 'switchyard_metrics_redis_up')).toBe(1);
      process.kill(redis.process.pid!, 'SIGSTOP');
      let stalled;
      try {
        stalled = await metricsOf(baseUrl, {});
      } finally {
        process.kill(redis.process.pid!, 'SIGCONT');
      }
      expect(stalled.status).toBe(200);
      expect(sampleValue(stalled.families, 'switchyard_metrics_redis_up')).toBe(0);
      expect(family(stalled.families, 'switchyard_queue_waiting').samples).toEqual([]);
      expect(family(stalled.families, 'switchyard_tasks').samples).toEqual([]);
      expect(sampleValue(stalled.families, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(gateway.output()).toContain('Redis did not answer within METRICS_READ_TIMEOUT_MS (300 ms)');
      await waitFor(
        async () => sampleValue((await metricsOf(baseUrl, {})).families, 'switchyard_metrics_redis_up') === 1,
        { timeoutMs: 15_000, what: 'the scrape to read Redis again' },
      );
    } finally {
      await redis.stop();
    }
  });

  it.each([
    ['METRICS_PUBLIC', 'yes', 'METRICS_PUBLIC must be one of: true, false (got "yes")'],
    [
      'METRICS_READ_TIMEOUT_MS',
      '5s',
      'METRICS_READ_TIMEOUT_MS must be a whole number between 100 and 60000 (got "5s")',
    ],
  ])('a bad %s=%s stops the gateway with exit status 2 and a message naming it', async (name, value, message) => {
    const gateway = startService('gateway', { ...ctx.stack.env, HOST: '127.0.0.1', PORT: '1', [name]: value });
    extraGateways.push(gateway);
    expect(await gateway.exited).toBe(2);
    expect(gateway.output()).toContain(message);
  });
});
