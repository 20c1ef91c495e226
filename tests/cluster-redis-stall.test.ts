/**
 * A stalled master of a Redis Cluster (the process alive but not answering: SIGSTOP here, swapping
 * or a long script in real life): submissions to a queue on that master are answered 503 with a JSON
 * error, each within a few REDIS_COMMAND_TIMEOUT_MS (a request makes two Redis calls, and the node's
 * connection is dropped and made again), not after a growing queue of timeouts and redirections;
 * once the other masters mark it failed, the cluster is down (CLUSTERDOWN without a replica) and
 * that is a 503 too; and the gateway recovers on its own once the master answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const COMMAND_TIMEOUT_MS = 2_000;

let cluster: RedisCluster;
let stack: Stack;
/** A Node queue whose slot is on another master than `default`'s. */
let otherQueue: string;

beforeAll(async () => {
  cluster = await startRedisCluster();
  const defaultPort = await cluster.portOf('{node:default}');
  for (let i = 0; i < 200 && !otherQueue; i++) {
    if ((await cluster.portOf(`{node:s${i}}`)) !== defaultPort) otherQueue = `s${i}`;
  }
  stack = await startStack(cluster, {
    label: 'cluster-stall',
    nodeWorkers: 0,
    gatewayEnv: () => ({ REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) }),
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

describe('a stalled master of a Redis Cluster', () => {
  it("answers 503 redis_unavailable for its queue's submissions without a timeout per queued command, serves the other masters' queues, then recovers", async () => {
    const defaultPort = await cluster.portOf('{node:default}');
    const stalled = cluster.nodes.find((node) => node.port === defaultPort)!;
    // The gateway has talked to every master before the stall (its slot map and connections are up).
    expect((await stack.client.execute('node', { total: 1 })).status).toBe(202);
    expect((await stack.client.execute('node', { total: 1, queue: otherQueue })).status).toBe(202);

    stalled.process.kill('SIGSTOP');
    const answers: { status: number; body: unknown }[] = [];
    const tookMs: number[] = [];
    let otherStatus: number;
    try {
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        const response = await fetch(`${stack.baseUrl}/node/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ total: 1 }),
          signal: AbortSignal.timeout(10 * COMMAND_TIMEOUT_MS),
        });
        answers.push({ status: response.status, body: await response.json() });
        tookMs.push(Date.now() - started);
      }
      otherStatus = (await stack.client.execute('node', { total: 1, queue: otherQueue })).status;
    } finally {
      stalled.process.kill('SIGCONT');
    }

    for (const answer of answers) {
      expect(answer).toEqual({
        status: 503,
        body: { error: expect.objectContaining({ code: 'redis_unavailable', message: expect.any(String) }) },
      });
    }
    // A hang guard, not a speed test: each submission within three timeouts (they hung for more than
    // ten, waiting behind the commands queued on the stalled node's connection, then for 32
    // redirections 200 ms apart once that connection was dropped).
    expect(Math.max(...tookMs)).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
    // The locator may live on the stalled master too (its slot is the task id's), so a submission to
    // another queue is answered either way, never left hanging.
    expect([202, 503]).toContain(otherStatus);

    await waitFor(async () => (await stack.client.execute('node', { total: 1 })).status === 202, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'the gateway to reach the master again',
    });
  }, 90_000);
});
