/**
 * ioredis connections configured for their role, on whichever Redis deployment the settings name: one
 * server (REDIS_URL), a master found through Redis Sentinel (REDIS_SENTINELS), or a Redis Cluster
 * (REDIS_CLUSTER_NODES). The gateway's connection fails fast (no offline queue, a command timeout) so
 * a Redis outage becomes a 503 rather than a hang; a worker's connection waits and retries forever, so
 * a Redis restart or a failover only pauses it.
 */
import { Cluster, Redis as SingleRedis, type ClusterOptions, type Command, type RedisOptions } from 'ioredis';

/** A connection: to one server (possibly a master found through sentinels), or to a whole cluster. */
export type Redis = SingleRedis | Cluster;

export type RedisRole = 'request' | 'worker' | 'blocking';

export interface HostPort {
  host: string;
  port: number;
}

/** Where Redis is, from the settings (shared/src/config.ts); docs/scaling.md describes each. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: HostPort[]; username?: string; password?: string }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      /** The name the sentinels monitor the master under (REDIS_SENTINEL_NAME). */
      name: string;
      username?: string;
      password?: string;
      sentinelPassword?: string;
    };

const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * The request role's connections. A command timeout alone bounds one command, not a request: against
 * a stalled Redis (socket alive, no replies: a SIGSTOPped or swapping server) a command queued by
 * auto-pipelining is not even sent while the pipeline before it waits, so it waited for that
 * pipeline's timeout and then its own (503 after 2 × REDIS_COMMAND_TIMEOUT_MS, more with a longer
 * queue). So the first timeout drops the socket and reconnects; until the new one is ready (its
 * handshake waits for Redis to answer) every command is refused at once, and a request answers 503
 * within one timeout. A cluster makes its node connections itself, so this wraps a connection's
 * `sendCommand` rather than choosing its class: the gateway's own connection, or each cluster node as
 * it joins.
 */
function dropSocketOnTimeout<Connection extends SingleRedis>(connection: Connection): Connection {
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = (command: Command, stream?: Parameters<SingleRedis['sendCommand']>[1]) => {
    const reply = send(command, stream);
    command.promise.catch((error: unknown) => {
      if (error instanceof Error && error.message === COMMAND_TIMED_OUT && connection.status === 'ready') {
        connection.disconnect(true);
      }
    });
    return reply;
  };
  return connection;
}

/** Back off up to 2 s between reconnects, forever: Redis coming back is the normal case. */
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

function roleOptions(role: RedisRole, commandTimeoutMs: number): RedisOptions {
  const byRole: Record<RedisRole, RedisOptions> = {
    request: { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: commandTimeoutMs },
    worker: { maxRetriesPerRequest: null },
    blocking: { maxRetriesPerRequest: null },
  };
  return { connectionName: `switchyard-${role}`, retryStrategy, ...byRole[role] };
}

export function createRedis(
  target: RedisTarget | string,
  role: RedisRole,
  extra: { commandTimeoutMs?: number } = {},
): Redis {
  const where: RedisTarget = typeof target === 'string' ? { kind: 'single', url: target } : target;
  const options = roleOptions(role, extra.commandTimeoutMs ?? 2_000);
  const enableAutoPipelining = role !== 'blocking';
  if (where.kind === 'cluster') return createCluster(where, role, options, enableAutoPipelining);
  const failFast = (connection: SingleRedis) => (role === 'request' ? dropSocketOnTimeout(connection) : connection);
  if (where.kind === 'single') return failFast(new SingleRedis(where.url, { ...options, enableAutoPipelining }));
  return failFast(
    new SingleRedis({
      ...options,
      enableAutoPipelining,
      sentinels: where.sentinels,
      name: where.name,
      ...credentials(where),
      ...(where.sentinelPassword ? { sentinelPassword: where.sentinelPassword } : {}),
      sentinelRetryStrategy: retryStrategy,
      // Sentinels announce a new master (+switch-master): reconnect to it at once rather than when the
      // old one's socket finally fails.
      failoverDetector: true,
    }),
  );
}

function credentials(where: { username?: string; password?: string }): RedisOptions {
  return {
    ...(where.username ? { username: where.username } : {}),
    ...(where.password ? { password: where.password } : {}),
  };
}

/**
 * A cluster connection: ioredis follows the slot map and MOVED/ASK, and sends each command, script and
 * auto-pipelined batch to the node of its keys. Its node connections carry the role's options; the
 * cluster's own offline queue follows the role's too (the request role refuses while no node is ready).
 */
function createCluster(
  where: Extract<RedisTarget, { kind: 'cluster' }>,
  role: RedisRole,
  { enableOfflineQueue, ...nodeOptions }: RedisOptions,
  enableAutoPipelining: boolean,
): Cluster {
  const options: ClusterOptions = {
    enableAutoPipelining,
    enableOfflineQueue: enableOfflineQueue ?? true,
    clusterRetryStrategy: retryStrategy,
    // A failover in the cluster: ask for the slot map again soon rather than give up on the command.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    maxRedirections: 32,
    redisOptions: { ...nodeOptions, ...credentials(where) },
  };
  if (role !== 'request') options.redisOptions = { ...options.redisOptions, maxRetriesPerRequest: null };
  // The request role answers 503 rather than wait: a command whose node connection closed (the
  // fail-fast dropped a stalled node's socket, or a master died) is not sent again after
  // retryDelayOnFailover, and a request follows only a few redirections (MOVED after a failover or a
  // reshard; 32 of them, 200 ms apart, held a request for 6 s against a stalled node).
  if (role === 'request') {
    options.maxRedirections = 3;
    options.retryDelayOnFailover = 0;
    // A dropped node connection reconnects; against a stalled node its ready check (INFO) would hold
    // the commands queued meanwhile until the connection gives up. Without it, they are sent at once
    // and time out after one command timeout, like any other.
    options.redisOptions = { ...options.redisOptions, enableReadyCheck: false };
  }
  const cluster = new Cluster(where.nodes, options);
  if (role === 'request') cluster.on('+node', (node: SingleRedis) => dropSocketOnTimeout(node));
  return cluster;
}

/** What a copy of a connection may change: settings of each connection to a server. */
export type ConnectionOverrides = Pick<RedisOptions, 'connectionName' | 'commandTimeout' | 'maxRetriesPerRequest'>;

/**
 * A new connection to the same Redis (same deployment, credentials and role) with `overrides`: for a
 * blocking command that must not hold up, or be cut off by, the connection it came from.
 */
export function duplicateRedis(redis: Redis, overrides: ConnectionOverrides = {}): Redis {
  if (redis instanceof Cluster) {
    // A cluster connection is ready only once it has the slot map; a blocking reader's first command,
    // sent at once, waits for that rather than failing as the request role's would.
    return redis.duplicate([], {
      enableOfflineQueue: true,
      redisOptions: { ...redis.options.redisOptions, ...overrides },
    });
  }
  return redis.duplicate(overrides);
}

/** Whether `redis` is a cluster connection, where keys of different hash tags may live on different nodes. */
export function isCluster(redis: Redis): redis is Cluster {
  return redis instanceof Cluster;
}
