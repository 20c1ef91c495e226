/**
 * ioredis connections configured for their role. The gateway's connection fails fast (no offline
 * queue, a command timeout) so a Redis outage becomes a 503 rather than a hang; a worker's connection
 * waits and retries forever, so a Redis restart only pauses it.
 */
import { Redis, type Command, type RedisOptions } from 'ioredis';

export type RedisRole = 'request' | 'worker' | 'blocking';

const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * The request role's connection. A command timeout alone bounds one command, not a request: against
 * a stalled Redis (socket alive, no replies: a SIGSTOPped or swapping server) a command queued by
 * auto-pipelining is not even sent while the pipeline before it waits, so it waited for that
 * pipeline's timeout and then its own (503 after 2 × REDIS_COMMAND_TIMEOUT_MS, more with a longer
 * queue). So the first timeout drops the socket and reconnects; until the new one is ready (its
 * handshake waits for Redis to answer) every command is refused at once, and a request answers 503
 * within one timeout.
 */
class FailFastRedis extends Redis {
  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const reply = super.sendCommand(command, stream);
    command.promise.catch((error: unknown) => {
      if (error instanceof Error && error.message === COMMAND_TIMED_OUT && this.status === 'ready') {
        this.disconnect(true);
      }
    });
    return reply;
  }
}

export function createRedis(url: string, role: RedisRole, extra: { commandTimeoutMs?: number } = {}): Redis {
  const common: RedisOptions = {
    connectionName: `switchyard-${role}`,
    // Back off up to 2 s between reconnects, forever: Redis coming back is the normal case.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  };
  if (role === 'request') {
    return new FailFastRedis(url, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: extra.commandTimeoutMs ?? 2_000,
      enableAutoPipelining: true,
    });
  }
  const byRole: Record<Exclude<RedisRole, 'request'>, RedisOptions> = {
    worker: { maxRetriesPerRequest: null, enableAutoPipelining: true },
    blocking: { maxRetriesPerRequest: null },
  };
  return new Redis(url, { ...common, ...byRole[role] });
}

export type { Redis };
