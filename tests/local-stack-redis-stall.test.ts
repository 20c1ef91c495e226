/**
 * A stalled Redis (the process alive but not answering: SIGSTOP here, swapping or a long script in
 * real life) makes the gateway answer 503 with a JSON error within REDIS_COMMAND_TIMEOUT_MS, for the
 * first request and for every one after it, and the gateway recovers on its own once Redis answers.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const COMMAND_TIMEOUT_MS = 2_000;

const handle = useStack({
  nodeWorkers: 0,
  label: 'redis-stall',
  gatewayEnv: () => ({ REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) }),
});

const REQUESTS = [
  { method: 'POST', path: '/node/execute', body: JSON.stringify({ total: 3 }) },
  { method: 'GET', path: '/queues' },
  { method: 'GET', path: '/workers' },
  { method: 'GET', path: '/readyz' },
] as const;

describe('a stalled Redis', () => {
  it('answers 503 redis_unavailable to each request without waiting a timeout per command, then recovers', async () => {
    const { stack, redis } = handle;
    const redisPid = redis.process.pid!;
    process.kill(redisPid, 'SIGSTOP');
    let elapsedMs: number;
    const answers: { path: string; status: number; body: unknown }[] = [];
    try {
      const started = Date.now();
      for (const request of REQUESTS) {
        const response = await fetch(`${stack.baseUrl}${request.path}`, {
          method: request.method,
          headers: { 'content-type': 'application/json' },
          ...('body' in request ? { body: request.body } : {}),
          signal: AbortSignal.timeout(10 * COMMAND_TIMEOUT_MS),
        });
        answers.push({ path: request.path, status: response.status, body: await response.json() });
      }
      elapsedMs = Date.now() - started;
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }

    expect(answers).toEqual(
      REQUESTS.map(({ path }) => ({
        path,
        status: 503,
        body: { error: expect.objectContaining({ code: 'redis_unavailable', message: expect.any(String) }) },
      })),
    );
    // A hang guard, not a speed test: four requests in a row together within three timeouts (each
    // used to wait two timeouts or more: a command waited for the stuck pipeline before it).
    expect(elapsedMs).toBeLessThan(3 * COMMAND_TIMEOUT_MS);

    await waitFor(async () => (await fetch(`${stack.baseUrl}/readyz`)).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the gateway to see Redis again',
    });
    expect((await stack.client.execute('node', { total: 1 })).status).toBe(202);
  }, 60_000);
});
