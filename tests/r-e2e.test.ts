/**
 * The R path end to end through the gateway: real gateway, Node worker and R service processes, a
 * real redis-server, and only HTTP from the test. The same caller code drives /node and /r.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayClient, type CollectedRecord } from './support/gateway-client.js';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from './support/redis-server.js';
import { startService, type ServiceProcess } from './support/services.js';
import { waitFor } from './support/wait.js';

let redis: RedisServer;
let baseUrl: string;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const [gatewayPort, rPort] = [await freePort(), await freePort()];
  baseUrl = `http://127.0.0.1:${gatewayPort}`;
  const env = { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('r-e2e'), LONG_TASK_STEP_MS: '150' };
  services.push(
    startService('r-worker', { ...env, HOST: '127.0.0.1', PORT: String(rPort), MAX_CONCURRENT_TASKS: '2' }),
    startService('node-worker', env),
    startService('gateway', {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(gatewayPort),
      R_SERVICE_URL: `http://127.0.0.1:${rPort}`,
    }),
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${rPort}/health`)).ok, {
    timeoutMs: 30_000,
    what: 'R service',
  });
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, { timeoutMs: 20_000, what: 'gateway' });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await redis.stop();
});

/** The seed's caller: execute, then poll collect until done, keeping each distinct snapshot. */
async function runToCompletion(worker: 'node' | 'r', body: unknown): Promise<CollectedRecord[]> {
  const client = gatewayClient(baseUrl);
  const accepted = await client.execute(worker, body);
  expect(accepted.status).toBe(202);
  expect(accepted.body).toEqual({ task_id: accepted.taskId, status: 'created' });
  const seen: CollectedRecord[] = [];
  await waitFor(
    async () => {
      const record = await client.collect(worker, accepted.taskId!);
      const last = seen.at(-1);
      if (!last || last.state !== record.state || last.current !== record.current) seen.push(record);
      return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(record.state);
    },
    { timeoutMs: 20_000, intervalMs: 30, what: `${worker} task to finish` },
  );
  return seen;
}

describe('R path end to end, through the gateway', () => {
  it.each(['node', 'r'] as const)(
    'the seed flow {"total": 3} on %s rises through PROGRESS to SUCCESS with result 3',
    async (worker) => {
      const seen = await runToCompletion(worker, { total: 3 });
      expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3 });
      expect(seen.some((s) => s.state === 'PROGRESS' && s.current > 0 && s.current < 3)).toBe(true);
      const currents = seen.map((s) => s.current);
      expect(currents).toEqual([...currents].sort((a, b) => a - b));
    },
  );

  it('lm_fit returns coefficients and R² computed by R', async () => {
    const seen = await runToCompletion('r', {
      task: 'lm_fit',
      args: [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }],
    });
    const result = seen.at(-1)!.result as { coefficients: Record<string, number>; r_squared: number; n: number };
    expect(result.n).toBe(5);
    expect(result.coefficients.x).toBeCloseTo(1.99, 6);
    expect(result.coefficients['(Intercept)']).toBeCloseTo(0.05, 6);
    expect(result.r_squared).toBeGreaterThan(0.99);
  });

  it('summary_stats returns R quantiles', async () => {
    const seen = await runToCompletion('r', { task: 'summary_stats', args: [[1, 2, 3, 4, 100], [0.5]] });
    expect(seen.at(-1)).toMatchObject({
      state: 'SUCCESS',
      result: { n: 5, mean: 22, min: 1, max: 100, quantiles: { '50%': 3 } },
    });
  });

  it('an R task whose R code errors ends FAILURE with the R message', async () => {
    const seen = await runToCompletion('r', { task: 'lm_fit', args: [[1, 2, 3], { x: [1, 2, 3, 4] }] });
    expect(seen.at(-1)).toMatchObject({ state: 'FAILURE' });
    expect(seen.at(-1)!.error).toMatch(/\w+/);
  });

  it('bad input is refused by the gateway with the field named, before reaching R', async () => {
    const reply = await gatewayClient(baseUrl).execute('r', { task: 'summary_stats', args: [[]] });
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ error: { fields: [{ field: 'args.0' }] } });
  });
});
