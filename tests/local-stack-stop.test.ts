/**
 * Ctrl-C under `npm start` loses no task. A terminal's Ctrl-C sends SIGINT to the whole foreground
 * process group; start.mjs's services run in groups of their own, so only start.mjs hears it and
 * stops them in order: gateway and workers first (running tasks finish within SHUTDOWN_GRACE_MS or
 * go back to their queue), Redis last. The next start on the same data runs what was handed back.
 */
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { gatewayClient, type GatewayClient } from './support/gateway-client.js';
import { freeStackPorts, freshDataDir, npmStart } from './support/npm-start.js';
import { uniquePrefix } from './support/redis-server.js';
import { waitFor } from './support/wait.js';

const STEP_MS = 500;
const GRACE_MS = 6_000;
/** long_task steps: 20 s, longer than the grace, so it is handed back. */
const LONG_STEPS = 40;
/** long_task steps: 2 s, well within the grace, so it finishes while the stack stops. */
const SHORT_STEPS = 4;

const RUNNING = ['STARTED', 'PROGRESS'];

async function submitLongTask(client: GatewayClient, kind: 'node' | 'r', total: number): Promise<string> {
  const accepted = await client.execute(kind, { task: 'long_task', args: [total] });
  expect(accepted.status).toBe(202);
  return accepted.taskId!;
}

async function waitUntilRunning(client: GatewayClient, kind: 'node' | 'r', taskId: string): Promise<void> {
  await waitFor(async () => RUNNING.includes((await client.collect(kind, taskId)).state), {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: `${kind} task ${taskId} to run`,
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('Ctrl-C under npm start', () => {
  it('stops gateway and workers before Redis, so running tasks finish or are handed back, and the next start runs them', async () => {
    const ports = await freeStackPorts();
    const dataDir = freshDataDir();
    const env = {
      LONG_TASK_STEP_MS: String(STEP_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      KEY_PREFIX: uniquePrefix('ctrl-c'),
    };
    const first = npmStart(env, { ports, dataDir });
    const long: Record<'node' | 'r', string> = { node: '', r: '' };
    const shortTask = { id: '' };
    try {
      await first.waitUntilUp();
      const client = gatewayClient(first.baseUrl);
      long.node = await submitLongTask(client, 'node', LONG_STEPS);
      long.r = await submitLongTask(client, 'r', LONG_STEPS);
      await waitUntilRunning(client, 'node', long.node);
      await waitUntilRunning(client, 'r', long.r);
      shortTask.id = await submitLongTask(client, 'node', SHORT_STEPS);
      await waitUntilRunning(client, 'node', shortTask.id);

      process.kill(-first.process.pid!, 'SIGINT'); // what a terminal's Ctrl-C does
      expect(await first.exitWithin(GRACE_MS + 60_000)).toBe(0);
    } finally {
      await first.stop();
    }
    const stopping = first.output();
    const position = (text: string) => stopping.indexOf(text);
    expect(stopping).toContain('[switchyard] SIGINT: stopping the gateway and the workers');
    for (const service of ['gateway', 'node-worker', 'r-worker']) {
      expect(position(`[switchyard] ${service} stopped`)).toBeGreaterThan(-1);
      expect(position(`[switchyard] ${service} stopped`)).toBeLessThan(position('[switchyard] redis stopped'));
    }
    expect(stopping).toMatch(/\[switchyard\] stopped\n/);
    // Both long tasks went back to their queue; nothing waited on a Redis that was gone.
    for (const taskId of [long.node, long.r]) {
      expect(stopping).toMatch(new RegExp(`"msg":"task handed back to the queue".*"task_id":"${taskId}"`));
    }
    expect(stopping).not.toMatch(/ECONNREFUSED|did not stop within|killing it/);

    const second = npmStart(env, { ports, dataDir });
    try {
      await second.waitUntilUp();
      const client = gatewayClient(second.baseUrl);
      // Finished during the first stop, kept by Redis's append-only file.
      expect(await client.collect('node', shortTask.id)).toMatchObject({ state: 'SUCCESS', result: SHORT_STEPS });
      for (const kind of ['node', 'r'] as const) {
        const done = await waitFor(
          async () => {
            const record = await client.collect(kind, long[kind]);
            return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(record.state) ? record : null;
          },
          { timeoutMs: 90_000, intervalMs: 500, what: `${kind} task ${long[kind]} to finish after the restart` },
        );
        expect(done).toMatchObject({ state: 'SUCCESS', result: LONG_STEPS, error: null });
      }
    } finally {
      await second.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 360_000);

  it('stops every service, in the same order, when start.mjs itself is killed hard', async () => {
    const ports = await freeStackPorts();
    const dataDir = freshDataDir();
    const env = {
      LONG_TASK_STEP_MS: String(STEP_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      KEY_PREFIX: uniquePrefix('killed'),
      // Far beyond the test's waits: the task can only come back by being handed back, not by its lease running out.
      LEASE_MS: '600000',
    };
    const first = npmStart(env, { ports, dataDir });
    let taskId = '';
    try {
      await first.waitUntilUp();
      const client = gatewayClient(first.baseUrl);
      taskId = await submitLongTask(client, 'node', LONG_STEPS);
      await waitUntilRunning(client, 'node', taskId);
      process.kill(-first.process.pid!, 'SIGKILL'); // start.mjs only: the services have groups of their own
      await first.exitWithin(10_000);
      // The reaper (its message comes through the stderr start.mjs shared with it) stops the rest.
      await waitFor(() => first.output().includes('[switchyard] start.mjs ended without stopping'), {
        what: 'the reaper to notice',
      });
      await waitFor(
        async () => !(await listening(ports.gateway)) && !(await listening(ports.r)) && !(await listening(ports.redis)),
        { timeoutMs: GRACE_MS + 60_000, intervalMs: 250, what: 'every service to stop' },
      );
      const stopped = first.output();
      expect(stopped.indexOf('[switchyard] redis stopped')).toBeGreaterThan(
        stopped.indexOf('[switchyard] node-worker stopped'),
      );
    } finally {
      await first.stop();
    }

    // The worker handed its task back before Redis stopped: the next start runs it.
    const second = npmStart(env, { ports, dataDir });
    try {
      await second.waitUntilUp();
      const client = gatewayClient(second.baseUrl);
      const done = await waitFor(
        async () => {
          const record = await client.collect('node', taskId);
          return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(record.state) ? record : null;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: `node task ${taskId} to finish after the restart` },
      );
      expect(done).toMatchObject({ state: 'SUCCESS', result: LONG_STEPS });
    } finally {
      await second.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 360_000);
});
