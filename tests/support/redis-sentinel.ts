/**
 * A real Redis Sentinel deployment on free loopback ports for one test file: a master, a replica of it
 * and three sentinels (quorum 2) watching it under `name`. Sentinels mark a master down after 1 s
 * without answers and fail over to the replica; `killMaster` SIGKILLs whichever server is master now.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';
import { waitFor } from './wait.js';

export interface RedisSentinelSet {
  name: string;
  /** The data servers (master first, as started), by port. */
  servers: Map<number, ChildProcess>;
  sentinelPorts: number[];
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME for every Switchyard process. */
  env: Record<string, string>;
  /** The port the sentinels name as master now. */
  masterPort(): Promise<number>;
  /** SIGKILLs the current master; resolves with its port. */
  killMaster(): Promise<number>;
  /** Waits until the sentinels name a master other than `oldPort` and it answers as master. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

function probe(port: number): Redis {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  return client;
}

async function ask<T>(port: number, command: (client: Redis) => Promise<T>): Promise<T> {
  const client = probe(port);
  try {
    await client.connect();
    return await command(client);
  } finally {
    client.disconnect();
  }
}

export async function startRedisSentinels(
  options: { name?: string; serverArgs?: string[]; downAfterMs?: number } = {},
): Promise<RedisSentinelSet> {
  const name = options.name ?? 'switchyard';
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  const startServer = (port: number, extra: string[]) => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--dbfilename',
      `dump-${port}.rdb`,
      '--appendfilename',
      `appendonly-${port}.aof`,
      '--appenddirname',
      `aof-${port}`,
      '--save',
      '',
      '--appendonly',
      'no',
      ...(options.serverArgs ?? []),
      ...extra,
    ];
    servers.set(port, spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'ignore'] }));
  };
  const stop = async () => {
    await Promise.all(
      [...servers.values(), ...sentinels].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const masterPort = async () => {
    for (const port of sentinelPorts) {
      try {
        const [, masterPortText] = (await ask(port, (c) => c.call('SENTINEL', 'get-master-addr-by-name', name))) as [
          string,
          string,
        ];
        return Number(masterPortText);
      } catch {
        // that sentinel is not answering: ask the next
      }
    }
    throw new Error('no sentinel names a master');
  };
  try {
    const [masterPortNumber, replicaPort] = [await freePort(), await freePort()];
    startServer(masterPortNumber, []);
    startServer(replicaPort, ['--replicaof', '127.0.0.1', String(masterPortNumber)]);
    for (const port of [masterPortNumber, replicaPort]) {
      await waitFor(
        async () => {
          if (servers.get(port)?.exitCode !== null) throw new Error(`redis-server on port ${port} exited early`);
          return (await ask(port, (c) => c.ping())) === 'PONG';
        },
        {
          timeoutMs: 10_000,
          what: `redis-server ${port}`,
        },
      );
    }
    await waitFor(
      async () => (await ask(replicaPort, (c) => c.info('replication'))).includes('master_link_status:up'),
      { timeoutMs: 10_000, intervalMs: 100, what: 'the replica to sync' },
    );
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPortNumber} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(spawn('redis-server', [file, '--sentinel'], { stdio: ['ignore', 'ignore', 'ignore'] }));
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) {
      await waitFor(
        async () => {
          const others = (await ask(port, (c) => c.call('SENTINEL', 'sentinels', name))) as unknown[];
          const replicas = (await ask(port, (c) => c.call('SENTINEL', 'replicas', name))) as unknown[];
          return others.length === 2 && replicas.length === 1;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: `sentinel ${port} to know the other sentinels and the replica` },
      );
    }
    return {
      name,
      servers,
      sentinelPorts,
      env: { REDIS_SENTINELS: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','), REDIS_SENTINEL_NAME: name },
      masterPort,
      async killMaster() {
        const port = await masterPort();
        const child = servers.get(port);
        if (!child) throw new Error(`the master ${port} is not one of the servers started here`);
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
        return port;
      },
      async waitForFailover(oldPort, timeoutMs = 30_000) {
        return waitFor(
          async () => {
            const port = await masterPort();
            if (port === oldPort) return null;
            const role = await ask(port, (c) => c.info('replication'));
            return role.includes('role:master') ? port : null;
          },
          { timeoutMs, intervalMs: 200, what: 'the sentinels to promote the replica' },
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
