/**
 * A Switchyard stack of real processes for end-to-end tests: the gateway, Node workers and
 * optionally the R service, on free loopback ports, against a given Redis.
 */
import { gatewayClient, type GatewayClient } from './gateway-client.js';
import { afterAll, beforeAll } from 'vitest';
import { freePort, startRedisServer, uniquePrefix, type RedisServer } from './redis-server.js';
import { startService, type ServiceProcess } from './services.js';
import { waitFor } from './wait.js';

/** The token the stack's gateway and R service share (R_SERVICE_TOKEN). */
export const STACK_R_SERVICE_TOKEN = 'stack-test-token-0123456789abcdef0123456789';

export interface Stack {
  baseUrl: string;
  /** Where the gateway looks for the R service (started there when `withR`). */
  rServiceUrl: string;
  /** What every process got: REDIS_URL (or the cluster's or sentinels' settings), KEY_PREFIX and the caller's settings. */
  env: Record<string, string>;
  client: GatewayClient;
  services: ServiceProcess[];
  /** The Node worker processes started so far (also in `services`). */
  workers: ServiceProcess[];
  /** Starts one more Node worker process. */
  startWorker(extraEnv?: Record<string, string>): ServiceProcess;
  stop(): Promise<void>;
}

/** What a stack runs on: a redis-server (REDIS_URL), or a cluster or sentinels with the settings that name them. */
export type StackRedis = RedisServer | { env: Record<string, string> };

function redisSettings(redis: StackRedis): Record<string, string> {
  return 'url' in redis ? { REDIS_URL: redis.url } : redis.env;
}

export async function startStack<R extends StackRedis = RedisServer>(
  redis: R,
  options: {
    env?: Record<string, string>;
    /** Settings for the gateway only, from the Redis server the stack runs on. */
    gatewayEnv?: (redis: R) => Record<string, string>;
    nodeWorkers?: number;
    withR?: boolean;
    label?: string;
  } = {},
): Promise<Stack> {
  const env = {
    ...redisSettings(redis),
    KEY_PREFIX: uniquePrefix(options.label ?? 'stack'),
    R_SERVICE_TOKEN: STACK_R_SERVICE_TOKEN,
    ...options.env,
  };
  const services: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const [gatewayPort, rPort] = [await freePort(), await freePort()];
  const startWorker = (extraEnv: Record<string, string> = {}) => {
    const worker = startService('node-worker', { ...env, ...extraEnv });
    services.push(worker);
    workers.push(worker);
    return worker;
  };
  if (options.withR) {
    services.push(startService('r-worker', { ...env, HOST: '127.0.0.1', PORT: String(rPort) }));
  }
  for (let i = 0; i < (options.nodeWorkers ?? 1); i++) startWorker();
  services.push(
    startService('gateway', {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(gatewayPort),
      R_SERVICE_URL: `http://127.0.0.1:${rPort}`,
      ...options.gatewayEnv?.(redis),
    }),
  );
  const baseUrl = `http://127.0.0.1:${gatewayPort}`;
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop('SIGKILL')));
  };
  try {
    if (options.withR) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${rPort}/health`)).ok, {
        timeoutMs: 30_000,
        what: 'the R service',
      });
    }
    await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, { timeoutMs: 20_000, what: 'the gateway' });
  } catch (error) {
    const logs = services.map((s) => s.output().slice(-2_000)).join('\n---\n');
    await stop();
    throw new Error(`${String(error)}\n${logs}`, { cause: error });
  }
  const rServiceUrl = `http://127.0.0.1:${rPort}`;
  return { baseUrl, rServiceUrl, env, client: gatewayClient(baseUrl), services, workers, startWorker, stop };
}

/**
 * Registers beforeAll/afterAll hooks that start a redis-server (by `startRedis`, default a plain one)
 * and a stack on it for the test file, and stop both afterwards. A test may replace `handle.redis`
 * (after restarting Redis); the one there at the end is stopped.
 */
export function useStack(
  options: Parameters<typeof startStack<RedisServer>>[1] & { startRedis?: () => Promise<RedisServer> },
): {
  stack: Stack;
  redis: RedisServer;
} {
  const handle = {} as { stack: Stack; redis: RedisServer };
  beforeAll(async () => {
    handle.redis = await (options.startRedis ?? (() => startRedisServer()))();
    handle.stack = await startStack(handle.redis, options);
  });
  afterAll(async () => {
    await handle.stack?.stop();
    await handle.redis?.stop();
  });
  return handle;
}
