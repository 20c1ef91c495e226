/**
 * `npm start` (scripts/start.mjs) as a user runs it: it brings up Redis, the gateway, NODE_WORKERS
 * Node workers and the R worker, says "up" only once each is, serves the seed flow, restarts a worker
 * that crashes, stops with the message when a service refuses its configuration, and stops
 * everything on SIGINT. Ports are free ones and Redis's data folder a fresh one, so it never meets a
 * stack already running. Ctrl-C while tasks run: local-stack-stop.test.ts.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { gatewayClient } from './support/gateway-client.js';
import { freeStackPorts, npmStart } from './support/npm-start.js';
import { waitFor } from './support/wait.js';

const workerPids = (output: string) =>
  [...output.matchAll(/^node-worker-\d+\s*\| (\{.*"msg":"worker started".*\})$/gm)].map(
    (match) => (JSON.parse(match[1]!) as { pid: number }).pid,
  );

describe('npm start', () => {
  it('runs the whole stack, says up once every service is, restarts a crashed worker, and stops everything on SIGINT', async () => {
    const ports = await freeStackPorts();
    const base = `http://127.0.0.1:${ports.gateway}`;
    const stack = npmStart(
      {
        NODE_WORKERS: '2',
        TASK_ROUTES: 'factorial=cpu,matmul=cpu',
        LONG_TASK_STEP_MS: '50',
        KEY_PREFIX: 'local-stack-test',
      },
      { ports },
    );
    try {
      await stack.waitUntilUp(90_000);
      const output = stack.output();
      expect(output).toContain(`docs http://localhost:${ports.gateway}/docs`);
      // Both workers had started (and joined the worker registry) before "up" was said.
      expect(workerPids(output.slice(0, output.indexOf('[switchyard] up:')))).toHaveLength(2);
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', workers: { node: 2, r: 1 } });

      const client = gatewayClient(base);
      for (const worker of ['node', 'r'] as const) {
        const accepted = await client.execute(worker, { total: 2 });
        expect(accepted.status).toBe(202);
        const done = await waitFor(async () => {
          const record = await client.collect(worker, accepted.taskId!);
          return record.state === 'SUCCESS' ? record : null;
        });
        expect(done.result).toBe(2);
      }

      // TASK_ROUTES sends factorial to queue cpu, which the workers take besides default.
      const routed = await client.runToCompletion('node', { task: 'factorial', args: [10] });
      expect(routed.at(-1)).toMatchObject({ state: 'SUCCESS', queue: 'cpu', result: '3628800' });
      const { queues } = (await (await fetch(`${base}/queues`)).json()) as {
        queues: { kind: string; name: string; consumers: number }[];
      };
      expect(queues).toContainEqual(expect.objectContaining({ kind: 'node', name: 'cpu', consumers: 2 }));
      expect(queues).toContainEqual(expect.objectContaining({ kind: 'r', name: 'default', consumers: 1 }));
      const { workers } = (await (await fetch(`${base}/workers`)).json()) as {
        workers: { kind: string; queues: string[] }[];
      };
      expect(workers.filter((w) => w.kind === 'node').map((w) => w.queues)).toEqual([
        ['default', 'cpu'],
        ['default', 'cpu'],
      ]);

      // A burst of 200 small R tasks, 20 requests at a time: none is refused, all succeed.
      const statuses: number[] = [];
      const rTasks: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) => client.execute('r', { task: 'summary_stats', args: [[batch, i, 3]] })),
        );
        for (const reply of replies) {
          statuses.push(reply.status);
          if (reply.taskId) rTasks.push(reply.taskId);
        }
      }
      expect(statuses.filter((status) => status !== 202)).toEqual([]);
      await waitFor(
        async () => {
          const records = await Promise.all(rTasks.map((id) => client.collect('r', id)));
          return records.every((record) => record.state === 'SUCCESS');
        },
        { timeoutMs: 90_000, intervalMs: 1_000, what: '200 R tasks to succeed' },
      );

      const [victim] = workerPids(stack.output());
      process.kill(victim!, 'SIGKILL');
      await waitFor(() => /node-worker-\d exited \(SIGKILL\); restarting/.test(stack.output()), {
        what: 'the crash to be noticed',
      });
      await waitFor(() => workerPids(stack.output()).length === 3, {
        timeoutMs: 20_000,
        what: 'the replacement worker',
      });
      await waitFor(() => /\[switchyard\] node-worker-\d is up again/.test(stack.output()), {
        what: 'the replacement to be reported up',
      });

      stack.process.kill('SIGINT');
      expect(await stack.exitWithin(60_000)).toBe(0);
      expect(stack.output()).toContain('[switchyard] stopped');
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      await stack.stop();
    }
  }, 240_000);

  it('stops with the message and exit status 2 when a service refuses its configuration, instead of restarting it', async () => {
    const bad = npmStart({ LEASE_MS: 'soon', KEY_PREFIX: 'local-stack-bad' }, { ports: await freeStackPorts() });
    try {
      expect(await bad.exitWithin(90_000)).toBe(2);
      expect(bad.output()).toMatch(/LEASE_MS must be a whole number/);
      expect(bad.output()).toMatch(/refused its configuration \(exit status 2/);
      expect(bad.output()).not.toMatch(/restarting in/);
    } finally {
      await bad.stop();
    }
  }, 120_000);

  it('never says up when a Node worker refuses its configuration: it stops with the worker message', async () => {
    // WORKER_CONCURRENCY is read by the Node worker only: the gateway and the R service come up.
    const bad = npmStart(
      { WORKER_CONCURRENCY: 'lots', KEY_PREFIX: 'local-stack-bad-worker' },
      { ports: await freeStackPorts() },
    );
    try {
      expect(await bad.exitWithin(90_000)).toBe(2);
      const output = bad.output();
      expect(output).toMatch(/^node-worker\s*\| .*WORKER_CONCURRENCY must be a whole number/m);
      expect(output).toContain('[switchyard] node-worker refused its configuration (exit status 2');
      expect(output).not.toContain('[switchyard] up:');
      expect(output).not.toMatch(/restarting in/);
      expect(output).toContain('[switchyard] stopped');
    } finally {
      await bad.stop();
    }
  }, 120_000);

  it('says which port is taken and which variable moves it, and stops', async () => {
    const ports = await freeStackPorts();
    const squatter = createServer().listen(ports.r, '127.0.0.1');
    await once(squatter, 'listening');
    const busy = npmStart({}, { ports });
    try {
      expect(await busy.exitWithin(60_000)).toBe(2);
      expect(busy.output()).toContain(
        `port ${ports.r}, for the R service, is already in use: stop what uses it, or set R_PORT to another port`,
      );
      expect(busy.output()).not.toMatch(/EADDRINUSE|at .*\.js:\d+/);
    } finally {
      squatter.close();
      await busy.stop();
    }
  }, 60_000);
});
