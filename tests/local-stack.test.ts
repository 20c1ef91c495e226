/**
 * `npm start` (scripts/start.mjs) as a user runs it: it brings up Redis, the gateway, NODE_WORKERS
 * Node workers and the R worker, serves the seed flow, restarts a worker that crashes, and stops
 * everything on Ctrl-C (SIGINT). Ports are free ones, so it never meets a stack already running.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayClient } from './support/gateway-client.js';
import { freePort } from './support/redis-server.js';
import { REPO_ROOT } from './support/services.js';
import { waitFor } from './support/wait.js';

let stack: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  if (stack?.pid !== undefined && stack.exitCode === null) process.kill(-stack.pid, 'SIGKILL');
});

const workerPids = (output: string) =>
  [...output.matchAll(/^node-worker-\d+\s*\| (\{.*"msg":"worker started".*\})$/gm)].map(
    (match) => (JSON.parse(match[1]!) as { pid: number }).pid,
  );

describe('npm start', () => {
  it('runs the whole stack, restarts a crashed worker, and stops everything on SIGINT', async () => {
    const [port, redisPort, rPort] = [await freePort(), await freePort(), await freePort()];
    stack = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        REDIS_PORT: String(redisPort),
        R_PORT: String(rPort),
        NODE_WORKERS: '2',
        TASK_ROUTES: 'factorial=cpu,matmul=cpu',
        LONG_TASK_STEP_MS: '50',
        KEY_PREFIX: 'local-stack-test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so the cleanup above can reach every child
    });
    let output = '';
    stack.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await waitFor(() => output.includes('[switchyard] up:'), { timeoutMs: 90_000, intervalMs: 200, what: 'the stack' });
    expect(output).toContain(`docs http://localhost:${port}/docs`);
    await waitFor(() => workerPids(output).length === 2, { what: 'both workers' });

    const client = gatewayClient(`http://127.0.0.1:${port}`);
    for (const worker of ['node', 'r'] as const) {
      await waitFor(async () => (await client.execute(worker, { total: 2 })).status === 202, {
        timeoutMs: 30_000,
        what: `${worker} to accept`,
      });
      const accepted = await client.execute(worker, { total: 2 });
      const done = await waitFor(async () => {
        const record = await client.collect(worker, accepted.taskId!);
        return record.state === 'SUCCESS' ? record : null;
      });
      expect(done.result).toBe(2);
    }

    // TASK_ROUTES sends factorial to queue cpu, which the workers take besides default.
    const routed = await client.runToCompletion('node', { task: 'factorial', args: [10] });
    expect(routed.at(-1)).toMatchObject({ state: 'SUCCESS', queue: 'cpu', result: '3628800' });
    const { queues } = (await (await fetch(`http://127.0.0.1:${port}/queues`)).json()) as {
      queues: { kind: string; name: string; consumers: number }[];
    };
    expect(queues).toContainEqual(expect.objectContaining({ kind: 'node', name: 'cpu', consumers: 2 }));
    expect(queues).toContainEqual(expect.objectContaining({ kind: 'r', name: 'default', consumers: 1 }));
    const { workers } = (await (await fetch(`http://127.0.0.1:${port}/workers`)).json()) as {
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

    const [victim] = workerPids(output);
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => /node-worker-\d exited \(SIGKILL\); restarting/.test(output), {
      what: 'the crash to be noticed',
    });
    await waitFor(() => workerPids(output).length === 3, { timeoutMs: 20_000, what: 'the replacement worker' });

    process.kill(stack.pid!, 'SIGINT');
    const [code] = await once(stack, 'exit');
    expect(code).toBe(0);
    expect(output).toContain('[switchyard] stopped');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 240_000);

  it('stops with the message and exit status 2 when a service refuses its configuration, instead of restarting it', async () => {
    const [port, redisPort, rPort] = [await freePort(), await freePort(), await freePort()];
    const bad = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        REDIS_PORT: String(redisPort),
        R_PORT: String(rPort),
        LEASE_MS: 'soon',
        KEY_PREFIX: 'local-stack-bad',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    bad.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bad.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const [code] = (await Promise.race([
        once(bad, 'exit'),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`npm start did not stop:\n${output}`)), 90_000)),
      ])) as [number];
      expect(code).toBe(2);
      expect(output).toMatch(/LEASE_MS must be a whole number/);
      expect(output).toMatch(/refused its configuration \(exit status 2/);
      expect(output).not.toMatch(/restarting in/);
    } finally {
      if (bad.pid !== undefined && bad.exitCode === null) process.kill(-bad.pid, 'SIGKILL');
    }
  }, 120_000);

  it('says which port is taken and which variable moves it, and stops', async () => {
    const [port, redisPort, rPort] = [await freePort(), await freePort(), await freePort()];
    const squatter = createServer().listen(rPort, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const busy = spawn(process.execPath, ['scripts/start.mjs'], {
        cwd: REPO_ROOT,
        env: { ...process.env, PORT: String(port), REDIS_PORT: String(redisPort), R_PORT: String(rPort) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      busy.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      busy.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code] = (await once(busy, 'exit')) as [number];
      expect(code).toBe(2);
      expect(output).toContain(
        `port ${rPort}, for the R service, is already in use: stop what uses it, or set R_PORT to another port`,
      );
      expect(output).not.toMatch(/EADDRINUSE|at .*\.js:\d+/);
    } finally {
      squatter.close();
    }
  }, 60_000);
});
