/**
 * ioredis connections configured for their role. The gateway's connection fails fast (no offline
 * queue, a command timeout) so a Redis outage becomes a 503 rather than a hang; a worker's connection
 * waits and retries forever, so a Redis restart only pauses it.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'request' | 'worker' | 'blocking';

export function createRedis(url: string, role: RedisRole, extra: { commandTimeoutMs?: number } = {}): Redis {
  const common: RedisOptions = {
    connectionName: `switchyard-${role}`,
    // Back off up to 2 s between reconnects, forever: Redis coming back is the normal case.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  };
  const byRole: Record<RedisRole, RedisOptions> = {
    request: {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: extra.commandTimeoutMs ?? 2_000,
      enableAutoPipelining: true,
    },
    worker: { maxRetriesPerRequest: null, enableAutoPipelining: true },
    blocking: { maxRetriesPerRequest: null },
  };
  return new Redis(url, { ...common, ...byRole[role] });
}

export type { Redis };
