/**
 * A real Redis Cluster on free loopback ports for one test file: `masters` redis-servers started with
 * `--cluster-enabled yes` in a temporary directory, joined with `redis-cli --cluster create` (no
 * replicas), and waited for until every node says `cluster_state:ok`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './redis-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface RedisClusterNode {
  port: number;
  process: ChildProcess;
}

export interface RedisCluster {
  nodes: RedisClusterNode[];
  /** `127.0.0.1:P1,127.0.0.1:P2,…`: REDIS_CLUSTER_NODES. */
  nodeList: string;
  /** What every Switchyard process needs to use the cluster (REDIS_CLUSTER_NODES, and the password if any). */
  env: Record<string, string>;
  /** A test's own client of the cluster (closed by `stop`). */
  client(): Cluster;
  /** The port of the master that serves `key`'s slot. */
  portOf(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** One command to one node on a connection of its own, which is closed after. */
async function askNode(
  port: number,
  password: string | undefined,
  command: string,
  ...args: string[]
): Promise<unknown> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(password ? { password } : {}),
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await probe.call(command, ...args);
  } finally {
    probe.disconnect();
  }
}

export async function startRedisCluster(options: { masters?: number; password?: string } = {}): Promise<RedisCluster> {
  const count = options.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cluster-'));
  const nodes: RedisClusterNode[] = [];
  const clients: Cluster[] = [];
  const auth = options.password ? ['--requirepass', options.password, '--masterauth', options.password] : [];
  const stop = async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(
      nodes.map(async ({ process: child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A port found free can still be taken before redis-server binds it (other test files start
    // servers too): a node that exits early is started again on another port, a few times at most.
    const startNode = async (): Promise<RedisClusterNode> => {
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const args = [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          ...auth,
        ];
        const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'ignore'] });
        const node = { port, process: child };
        nodes.push(node);
        try {
          await waitFor(
            async () => {
              if (child.exitCode !== null) throw new Error(`cluster node on port ${port} exited early`);
              return (await askNode(port, options.password, 'PING')) === 'PONG';
            },
            { timeoutMs: 10_000, what: `cluster node ${port}` },
          );
          return node;
        } catch (error) {
          if (attempt >= 3 || child.exitCode === null) throw error;
        }
      }
    };
    const started: RedisClusterNode[] = [];
    for (let i = 0; i < count; i++) started.push(await startNode());
    const addresses = started.map(({ port }) => `127.0.0.1:${port}`);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        '0',
        '--cluster-yes',
        ...(options.password ? ['-a', options.password, '--no-auth-warning'] : []),
      ],
      { timeout: 30_000 },
    );
    for (const { port } of started) {
      await waitFor(
        async () => {
          const info = await askNode(port, options.password, 'CLUSTER', 'INFO');
          return String(info).includes('cluster_state:ok');
        },
        { timeoutMs: 20_000, intervalMs: 100, what: `cluster_state:ok on node ${port}` },
      );
    }
    const nodeList = addresses.join(',');
    const client = () => {
      const cluster = new Cluster(
        started.map(({ port }) => ({ host: '127.0.0.1', port })),
        { redisOptions: options.password ? { password: options.password } : {}, enableAutoPipelining: true },
      );
      cluster.on('error', () => undefined);
      clients.push(cluster);
      return cluster;
    };
    const slotsOf = client();
    return {
      nodes: started,
      nodeList,
      env: { REDIS_CLUSTER_NODES: nodeList, ...(options.password ? { REDIS_PASSWORD: options.password } : {}) },
      client,
      async portOf(key) {
        const slot = Number(await slotsOf.call('CLUSTER', 'KEYSLOT', key));
        const ranges = (await slotsOf.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no node serves slot ${slot}`);
        return range[2][1];
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
