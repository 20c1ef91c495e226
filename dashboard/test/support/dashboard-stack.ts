/**
 * The stack the dashboard tests open in a browser: a real redis-server, Node workers and a gateway
 * serving a dashboard built for this run (into a temporary UI_DIR, as `npm start` builds it), plus
 * extra gateways on the same Redis and key prefix with other UI settings (read-only, API keys), so
 * every one of them shows the same queues and tasks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildDashboard } from '../../../scripts/lib/build-dashboard.mjs';
import { freePort, startRedisServer, type RedisServer } from '../../../tests/support/redis-server.js';
import { startService } from '../../../tests/support/services.js';
import { startStack, type Stack } from '../../../tests/support/stack.js';
import { waitFor } from '../../../tests/support/wait.js';

export interface DashboardStack {
  stack: Stack;
  redis: RedisServer;
  uiDir: string;
  /** Starts one more gateway on the stack's Redis and prefix with `env`; resolves with its base URL. */
  startGateway(env: Record<string, string>): Promise<string>;
}

export function useDashboardStack(
  options: { env?: Record<string, string>; nodeWorkers?: number } = {},
): DashboardStack {
  const handle = {} as DashboardStack;
  beforeAll(async () => {
    handle.uiDir = mkdtempSync(join(tmpdir(), 'switchyard-ui-'));
    await buildDashboard({ outdir: handle.uiDir, quiet: true });
    handle.redis = await startRedisServer();
    handle.stack = await startStack(handle.redis, {
      label: 'ui',
      nodeWorkers: options.nodeWorkers ?? 2,
      env: options.env ?? {},
      gatewayEnv: () => ({ UI_DIR: handle.uiDir }),
    });
    handle.startGateway = async (env) => {
      const port = await freePort();
      const gateway = startService('gateway', {
        ...handle.stack.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        UI_DIR: handle.uiDir,
        ...env,
      });
      handle.stack.services.push(gateway); // stopped with the stack
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, {
        timeoutMs: 20_000,
        what: `the gateway with ${JSON.stringify(env)}: ${gateway.output().slice(-500)}`,
      });
      return baseUrl;
    };
  }, 90_000);
  afterAll(async () => {
    await handle.stack?.stop();
    await handle.redis?.stop();
    if (handle.uiDir) rmSync(handle.uiDir, { recursive: true, force: true });
  });
  return handle;
}
