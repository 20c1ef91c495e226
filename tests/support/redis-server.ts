/**
 * A real redis-server on a free loopback port for one test file. No mocks: the Lua scripts, BLMOVE
 * and TTLs are exercised against Redis itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait.js';

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  /** Stops the server (SIGKILL with `crash`), waiting until it has exited. */
  stop(options?: { crash?: boolean }): Promise<void>;
}

/**
 * Ports handed to test servers come from below the kernel's ephemeral range (32768-60999 here), where
 * outgoing connections never take them, and each is checked free by binding it. A port from `listen(0)`
 * would come from the ephemeral range, and between closing it and the server binding it, any of the
 * suite's many client connections could take the same number ("address already in use").
 */
const TEST_PORTS = { from: 20_000, to: 32_000 } as const;
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = TEST_PORTS.from + Math.floor(Math.random() * (TEST_PORTS.to - TEST_PORTS.from));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${TEST_PORTS.from} and ${TEST_PORTS.to}`);
}

async function canBind(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export async function startRedisServer(
  options: { password?: string; port?: number; extraArgs?: string[]; tls?: TlsFiles } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'));
  const { tls } = options;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile]
    : ['--port', String(port)];
  if (tls) listen.push('--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no');
  const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (options.password) args.push('--requirepass', options.password);
  args.push(...(options.extraArgs ?? []));
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  child.on('exit', () => (exited = true));
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  const url = `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`;
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(tls ? { tls: { ca: readFileSync(tls.caFile) } } : {}),
  });
  probe.on('error', () => {});
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`redis-server exited early (port ${port} taken?)`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      { timeoutMs: 10_000, what: `redis-server on port ${port}` },
    );
  } finally {
    probe.disconnect();
  }
  return {
    port,
    url,
    process: child,
    async stop({ crash = false } = {}) {
      if (!exited) {
        const gone = once(child, 'exit');
        child.kill(crash ? 'SIGKILL' : 'SIGTERM');
        await gone;
      }
      if (!crash) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A key prefix no other test uses, so tests sharing a server never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
