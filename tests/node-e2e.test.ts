/**
 * End to end through real processes: a gateway and Node workers started from their sources, a real
 * redis-server, and only HTTP from the test, as a user would call it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from './support/redis-server.js';
import { startService, type ServiceProcess } from './support/services.js';
import { waitFor } from './support/wait.js';

let redis: RedisServer;
let gatewayUrl: string;
const services: ServiceProcess[] = [];
let env: Record<string, string>;
const workers: ServiceProcess[] = [];

function startWorker(): ServiceProcess {
  const worker = startService('node-worker', { ...env, WORKER_CONCURRENCY: '4' });
  services.push(worker);
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  redis = await startRedisServer();
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  env = { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('e2e'), LONG_TASK_STEP_MS: '150', LEASE_MS: '1500' };
  services.push(startService('gateway', { ...env, PORT: String(port), HOST: '127.0.0.1' }));
  await waitFor(async () => (await fetch(`${gatewayUrl}/readyz`)).ok, { timeoutMs: 20_000, what: 'gateway' });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await redis.stop();
});

async function execute(body: unknown): Promise<string> {
  const response = await fetch(`${gatewayUrl}/node/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  const accepted = (await response.json()) as { task_id: string; status: string };
  expect(accepted.status).toBe('created');
  return accepted.task_id;
}

interface Collected {
  state: string;
  current: number;
  total: number;
  status: string;
  result: unknown;
  error: string | null;
  attempts: number;
}

async function collect(taskId: string): Promise<Collected> {
  const response = await fetch(`${gatewayUrl}/node/collect?task_id=${taskId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Collected;
}

/** Polls collect until the task is SUCCESS or FAILURE, returning every distinct snapshot seen. */
async function pollUntilDone(taskId: string, timeoutMs = 20_000): Promise<Collected[]> {
  const seen: Collected[] = [];
  await waitFor(
    async () => {
      const record = await collect(taskId);
      const last = seen.at(-1);
      if (!last || last.state !== record.state || last.current !== record.current) seen.push(record);
      return record.state === 'SUCCESS' || record.state === 'FAILURE';
    },
    { timeoutMs, intervalMs: 30, what: `task ${taskId} to finish` },
  );
  return seen;
}

describe('Node path end to end', () => {
  it('long_task (total 3) rises through PROGRESS to SUCCESS with result 3', async () => {
    startWorker();
    const taskId = await execute({ total: 3 });
    const seen = await pollUntilDone(taskId);
    const final = seen.at(-1)!;
    expect(final).toMatchObject({ state: 'SUCCESS', current: 3, total: 3, result: 3, status: 'Task completed!' });
    const progress = seen.filter((s) => s.state === 'PROGRESS');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.status).toMatch(/^Step \d of 3$/);
    const currents = seen.map((s) => s.current);
    expect(currents).toEqual([...currents].sort((a, b) => a - b));
  });

  it('add, factorial and matmul return their results', async () => {
    const add = await execute({ task: 'add', args: [4, 6] });
    const factorial = await execute({ task: 'factorial', args: [20] });
    const matmul = await execute({ task: 'matmul', args: [2, 3] });
    expect((await pollUntilDone(add)).at(-1)).toMatchObject({ state: 'SUCCESS', result: 10 });
    expect((await pollUntilDone(factorial)).at(-1)).toMatchObject({ result: '2432902008176640000' });
    const product = (await pollUntilDone(matmul)).at(-1)!.result as number[][];
    expect(product).toHaveLength(2);
    expect(product[0]).toHaveLength(2);
  });

  it('a worker SIGKILLed mid-task loses nothing: another worker finishes the task after the lease expires', async () => {
    // Only the victim runs when the task is submitted, so it is the one that takes it.
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM')));
    const victim = startWorker();
    await waitFor(() => victim.output().includes('worker started'), { what: 'victim worker to start' });
    const taskId = await execute({ total: 6 });
    await waitFor(async () => (await collect(taskId)).state === 'PROGRESS', { what: 'the task to progress' });
    expect(victim.output()).toContain(taskId);
    victim.process.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    startWorker();
    const seen = await pollUntilDone(taskId, 30_000);
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', result: 6, attempts: 2 });
  }, 60_000);
});
