// Health check of a node-worker container (its image's HEALTHCHECK, and Kubernetes' exec probes).
// The worker has no port, so "the process runs" proves little; this proves what matters: Redis
// answers at REDIS_URL, and the worker process of this container is in the worker registry with a
// fresh heartbeat, which it writes only while its loop runs (shared/src/workers.ts: the ZSET
// `<prefix>:workers` and one `<prefix>:worker:<id>` JSON per worker, read here with the shared
// `listWorkers` and `createKeyLayout`, never with hand-built keys). "This container's" means an entry
// of kind node whose host is this hostname (a container's or pod's own name) and whose pid is a
// live process here (the check runs in the worker's PID namespace: `docker exec`, exec probes).
// Exit 0: healthy. Exit 1: not, with the reason on stderr (Docker keeps it in `inspect`).
// Runs from the image's /app, where @switchyard/shared (and its ioredis) resolve; in the repository,
// run it with `node --conditions=source --import tsx` (the shared sources, no build).
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { WORKER_HEARTBEAT, createKeyLayout, listWorkers } from '@switchyard/shared';

const TIMEOUT_MS = 3_000;

/** Whether `pid` is a process this check can see (EPERM: it exists, owned by someone else). */
function isRunning(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error?.code === 'EPERM';
  }
}

async function check() {
  let keys;
  try {
    keys = createKeyLayout(process.env.KEY_PREFIX || 'switchyard');
  } catch (error) {
    return `KEY_PREFIX is not valid: ${error instanceof Error ? error.message : String(error)}`;
  }
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
    const host = hostname();
    const workers = await listWorkers(redis, keys);
    const here = workers.filter((worker) => worker.kind === 'node' && worker.host === host);
    if (here.some((worker) => isRunning(worker.pid))) return null;
    if (here.length > 0) {
      return `the node workers registered from ${host} (pid ${here.map((w) => w.pid).join(', ')}) are not running here`;
    }
    return `no node worker from ${host} in the registry ${keys.workerSet} with a heartbeat in the last ${WORKER_HEARTBEAT.ttlSeconds} s`;
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
