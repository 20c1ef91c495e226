/**
 * Redis crash and restart mid-run, with AOF persistence (appendfsync always): the gateway answers 503
 * while Redis is down and recovers by itself, workers reconnect and carry on, and every task the
 * gateway accepted with 202 finishes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-server.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const AOF_DIR = mkdtempSync(join(tmpdir(), 'switchyard-aof-'));
const persistent = (port?: number) =>
  startRedisServer({
    ...(port === undefined ? {} : { port }),
    extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', AOF_DIR],
  });

const ctx = useStack({
  label: 'aof',
  startRedis: () => persistent(),
  nodeWorkers: 2,
  withR: true,
  env: {
    LOG_LEVEL: 'warn',
    LONG_TASK_STEP_MS: '100',
    LEASE_MS: '2000',
    WORKER_CONCURRENCY: '10',
    CPU_THREADS: '1',
    REDIS_COMMAND_TIMEOUT_MS: '500',
  },
});
afterAll(() => rmSync(AOF_DIR, { recursive: true, force: true }));

describe('fault: Redis killed and restarted mid-run (AOF on)', () => {
  it('every task accepted with 202 finishes; during the outage the gateway answers 503, then recovers', async () => {
    const { client, baseUrl } = ctx.stack;
    const accepted: string[] = [];
    const submit = async (count: number) => {
      const replies = await Promise.all(Array.from({ length: count }, () => client.execute('node', { total: 5 })));
      for (const reply of replies) if (reply.status === 202) accepted.push(reply.taskId!);
      return replies.map((r) => r.status);
    };

    expect(new Set(await submit(60))).toEqual(new Set([202]));
    const rTasks = await Promise.all([1, 2, 3].map(() => client.execute('r', { total: 20 })));
    expect(rTasks.map((r) => r.status)).toEqual([202, 202, 202]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // tasks are mid-flight now
    await ctx.redis.stop({ crash: true });

    const duringOutage = await submit(10);
    expect(new Set(duringOutage)).toEqual(new Set([503]));
    const readyDuringOutage = await fetch(`${baseUrl}/readyz`);
    expect(readyDuringOutage.status).toBe(503);

    await new Promise((resolve) => setTimeout(resolve, 500));
    ctx.redis = await persistent(ctx.redis.port);
    await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, {
      timeoutMs: 15_000,
      what: 'the gateway to recover',
    });
    expect(new Set(await submit(20))).toEqual(new Set([202]));

    const finished = async () => {
      const records = await Promise.all(accepted.map((id) => client.collect('node', id).catch(() => null)));
      return records.every((r) => r?.state === 'SUCCESS') ? records : null;
    };
    const records = await waitFor(finished, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'all accepted tasks to succeed',
    });
    const duplicated = records.filter((r) => r!.attempts > 1).length;

    // R tasks have no redelivery: their children retry their writes through the outage and carry on.
    const rFinals = await Promise.all(rTasks.map((r) => client.pollUntilDone('r', r.taskId!, 60_000)));
    for (const seen of rFinals) expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', result: 20 });
    const rAfter = await client.runToCompletion('r', { total: 2 });
    expect(rAfter.at(-1)).toMatchObject({ state: 'SUCCESS', result: 2 });
    const rStates = rFinals.map(
      (seen) => `${seen.at(-1)!.state}${seen.at(-1)!.error ? ` (${seen.at(-1)!.error})` : ''}`,
    );
    console.log(`redis restart test, R tasks: ${rStates.join('; ')}`);
    console.log(
      `redis restart test: submitted ${accepted.length + duringOutage.length} (${duringOutage.length} refused with 503 during the outage), ` +
        `accepted ${accepted.length}, completed ${records.length}, lost 0, duplicated ${duplicated}`,
    );
    expect(records.every((r) => r!.result === 5)).toBe(true);
  }, 120_000);
});
