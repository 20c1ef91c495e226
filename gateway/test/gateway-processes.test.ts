/**
 * GATEWAY_PROCESSES: real gateway processes (a cluster primary and its forks) on one port and one
 * Redis, as an operator starts them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';
import { startService, type ServiceProcess } from '../../tests/support/services.js';
import { waitFor } from '../../tests/support/wait.js';

/**
 * The gateway processes the primary `pid` forked. Only those: when tsx has to compile, the primary
 * also has an esbuild service process as its child.
 */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('gateway/src/main.ts');
      } catch {
        return false;
      }
    })
    .map(Number);
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

async function startGateway(processes: string): Promise<{ gateway: ServiceProcess; baseUrl: string }> {
  const port = await freePort();
  const gateway = startService('gateway', {
    REDIS_URL: redis.url,
    KEY_PREFIX: uniquePrefix('gp'),
    HOST: '127.0.0.1',
    PORT: String(port),
    GATEWAY_PROCESSES: processes,
  });
  return { gateway, baseUrl: `http://127.0.0.1:${port}` };
}

/** Waits until the port answers ready and the primary has forked its two gateway processes. */
async function bothReady(gateway: Awaited<ReturnType<typeof startGateway>>['gateway'], baseUrl: string) {
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`).catch(() => null))?.ok === true, {
    timeoutMs: 30_000,
    what: 'the gateway processes',
  });
  await waitFor(async () => childrenOf(gateway.process.pid ?? 0).length === 2, {
    timeoutMs: 30_000,
    what: 'two forked gateway processes',
  });
}

describe('GATEWAY_PROCESSES', () => {
  it('2: two gateway processes answer on one port, and a task accepted by one is collected through the port', async () => {
    const { gateway, baseUrl } = await startGateway('2');
    try {
      await bothReady(gateway, baseUrl);
      const accepted = await fetch(`${baseUrl}/node/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ total: 2 }),
      });
      expect(accepted.status).toBe(202);
      const { task_id } = (await accepted.json()) as { task_id: string };
      // Each fetch opens a new connection; the primary hands them to the processes in turn.
      const collected = await Promise.all(
        Array.from({ length: 6 }, () => fetch(`${baseUrl}/node/collect?task_id=${task_id}`)),
      );
      expect(collected.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(await collected[0]?.json()).toMatchObject({ task_id, task: 'long_task', args: [2], state: 'PENDING' });
      expect(await gateway.stop('SIGTERM')).toBe(0);
      expect(gateway.output()).toContain('stopping the gateway processes');
    } finally {
      await gateway.stop('SIGKILL');
    }
  }, 60_000);

  it('a gateway process that dies takes the others down, and the primary exits non-zero saying so', async () => {
    const { gateway, baseUrl } = await startGateway('2');
    try {
      await bothReady(gateway, baseUrl);
      const [victim, other] = childrenOf(gateway.process.pid ?? 0);
      process.kill(victim ?? 0, 'SIGKILL');
      expect(await gateway.exited).toBe(1);
      expect(gateway.output()).toContain('a gateway process ended; stopping the others');
      expect(childrenOf(gateway.process.pid ?? 0)).toEqual([]);
      expect(() => process.kill(other ?? 0, 0)).toThrow();
    } finally {
      await gateway.stop('SIGKILL');
    }
  }, 60_000);

  it.each(['0', '65', 'two'])('%s is refused at start-up with status 2 naming the variable', async (value) => {
    const { gateway } = await startGateway(value);
    expect(await gateway.exited).toBe(2);
    expect(gateway.output()).toContain('GATEWAY_PROCESSES must be a whole number between 1 and 64');
  });
});
