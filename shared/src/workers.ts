/**
 * The registry of live workers, both kinds: each worker process writes what it is and what it runs
 * at every heartbeat, under a key that expires, and scores its id in the worker set. `GET /workers`
 * lists those whose heartbeat is fresh; a worker that stops removes itself, one that dies ages out.
 * The R service writes the same JSON (r-worker/R/worker_registry.R) with the same timings, from
 * `worker_heartbeat` in shared/contracts/rules.json.
 */
import { hostname } from 'node:os';
import type { Redis } from './redis.js';
import type { KeyLayout } from './keys.js';
import type { WorkerKind } from './tasks.js';

export const WORKER_HEARTBEAT = {
  /** How often a worker says it is alive. */
  intervalMs: 2_000,
  /** A worker not heard from for this long is gone. */
  ttlSeconds: 10,
} as const;

export interface WorkerInfo {
  id: string;
  kind: WorkerKind;
  host: string;
  pid: number;
  /** The queues it takes from, in order of preference. */
  queues: string[];
  concurrency: number;
  /** Ids of the tasks it runs now. */
  running: string[];
  started_at: string;
  heartbeat_at: string;
}

export interface WorkerHeartbeat {
  /** Writes one heartbeat now (also done every WORKER_HEARTBEAT.intervalMs). */
  beat(): Promise<void>;
  /** Stops beating and removes the worker from the registry. */
  stop(): Promise<void>;
}

export function startWorkerHeartbeat(
  redis: Redis,
  keys: KeyLayout,
  describe: () => Omit<WorkerInfo, 'host' | 'pid' | 'started_at' | 'heartbeat_at'>,
  onError: (error: unknown) => void = () => {},
): WorkerHeartbeat {
  const startedAt = new Date().toISOString();
  const host = hostname();
  let workerId = '';
  const beat = async () => {
    const now = Date.now();
    const info: WorkerInfo = {
      ...describe(),
      host,
      pid: process.pid,
      started_at: startedAt,
      heartbeat_at: new Date(now).toISOString(),
    };
    workerId = info.id;
    await Promise.all([
      redis.set(keys.worker(info.id), JSON.stringify(info), 'EX', WORKER_HEARTBEAT.ttlSeconds),
      redis.zadd(keys.workerSet, now, info.id),
      redis.zremrangebyscore(keys.workerSet, '-inf', now - WORKER_HEARTBEAT.ttlSeconds * 1_000),
    ]);
  };
  const timer = setInterval(() => void beat().catch(onError), WORKER_HEARTBEAT.intervalMs);
  timer.unref();
  return {
    beat,
    async stop() {
      clearInterval(timer);
      if (workerId === '') return;
      await Promise.all([redis.del(keys.worker(workerId)), redis.zrem(keys.workerSet, workerId)]);
    },
  };
}

/** Every worker whose heartbeat is fresh, oldest first. Reads only. */
export async function listWorkers(redis: Redis, keys: KeyLayout, now = Date.now()): Promise<WorkerInfo[]> {
  const ids = await redis.zrangebyscore(keys.workerSet, now - WORKER_HEARTBEAT.ttlSeconds * 1_000, '+inf');
  if (ids.length === 0) return [];
  // One GET each rather than an MGET: on a cluster each worker's key has a slot of its own. Auto-pipelining
  // still sends them together (per node).
  const infos = await Promise.all(ids.map((id) => redis.get(keys.worker(id))));
  return infos
    .filter((json): json is string => json !== null)
    .map((json) => JSON.parse(json) as WorkerInfo)
    .sort((a, b) => a.started_at.localeCompare(b.started_at));
}
