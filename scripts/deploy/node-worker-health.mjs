// Health check of a node-worker container (its image's HEALTHCHECK, and Kubernetes' exec probes).
// The worker has no port, so "the process runs" proves little; this proves what matters: Redis
// answers at REDIS_URL, and a worker process in this container holds both of its connections to it
// (the ones createRedis names switchyard-worker and switchyard-blocking). "This container" means the
// same client address as Redis sees for this check's own connection: every container and every pod
// has its own address (behind a NAT or proxy that hides it, the check accepts any worker).
// Exit 0: healthy. Exit 1: not, with the reason on stderr (Docker keeps it in `inspect`).
// Runs from the image's /app (ioredis is a production dependency of @switchyard/shared).
import { Redis } from 'ioredis';

const WORKER_CONNECTIONS = ['switchyard-worker', 'switchyard-blocking'];
const TIMEOUT_MS = 3_000;

/** `CLIENT LIST` as one record per connection: { id, addr, name, ... }. */
function parseClientList(text) {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(' ')
          .map((field) => field.split(/=(.*)/s, 2)),
      ),
    );
}

/** The host part of "1.2.3.4:5678" or "[::1]:5678" / "::1:5678". */
function hostOf(addr) {
  return (addr ?? '').slice(0, Math.max(0, (addr ?? '').lastIndexOf(':'))).replace(/^\[|\]$/g, '');
}

async function check() {
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', {
    connectionName: 'switchyard-healthcheck',
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let connectionError = null; // more telling than the "Connection is closed." that follows it
  redis.on('error', (error) => (connectionError ??= error));
  try {
    await redis.connect();
    const ownId = String(await redis.call('CLIENT', 'ID'));
    const clients = parseClientList(String(await redis.call('CLIENT', 'LIST')));
    const own = clients.find((client) => client.id === ownId);
    const ownHost = hostOf(own?.addr);
    const sameHost = clients.filter((client) => hostOf(client.addr) === ownHost);
    const missing = WORKER_CONNECTIONS.filter((name) => !sameHost.some((client) => client.name === name));
    if (missing.length > 0) {
      return `no worker connection ${missing.join(' or ')} from ${ownHost || 'this host'} in Redis' client list`;
    }
    return null;
  } catch (error) {
    const cause = connectionError ?? error;
    return `Redis does not answer: ${cause instanceof Error ? cause.message : String(cause)}`;
  } finally {
    redis.disconnect();
  }
}

const problem = await check();
if (problem) {
  process.stderr.write(`node-worker unhealthy: ${problem}\n`);
  process.exit(1);
}
process.stdout.write('node-worker healthy\n');
process.exit(0);
