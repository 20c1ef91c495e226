/**
 * The Redis key layout. Every key Switchyard reads or writes is built here and nowhere else; the R
 * worker follows the same layout, checked against `shared/contracts/key-layout.json`.
 */

/** A prefix may not contain the separator, so keys of two deployments can never collide. */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export interface KeyLayout {
  readonly prefix: string;
  /** STRING: the MessagePack status record of one task; expires RESULT_TTL_SECONDS after its last write. */
  task(taskId: string): string;
  /** HASH: a Node task's delivery bookkeeping (msg = MessagePack payload, attempts, token of the lease holder). */
  job(taskId: string): string;
  /** `job(id)` without the id: Lua scripts that visit many jobs append the id to it. */
  readonly jobPrefix: string;
  /** LIST: Node task ids waiting for a worker; producers LPUSH, workers take from the right (FIFO). */
  readonly nodeQueue: string;
  /** LIST: Node task ids a worker has taken and not yet acknowledged. */
  readonly nodeActive: string;
  /** ZSET: lease deadline (ms since the epoch) of each taken Node task id. */
  readonly nodeLeases: string;
  /** ZSET: Node task ids waiting out a retry backoff, scored by when they are due (ms since the epoch). */
  readonly nodeDelayed: string;
  /** LIST: Node task ids that failed every attempt (dead letters), newest first; an operator can requeue them. */
  readonly nodeDead: string;
  /** Pub/sub channel: ids of running Node tasks to cancel, heard by every worker. */
  readonly nodeCancelChannel: string;
  /** STRING: the task id an Idempotency-Key was first used for; `scope` is a digest of worker, caller and key. */
  idempotency(scope: string): string;
  /** Prefix of the rate limiter's per-caller counters. */
  readonly rateLimitPrefix: string;
  /**
   * STRING with a TTL: present while the R service that accepted the task is alive and the task is not
   * finished. A non-terminal R record without it belongs to a dead service: collect reports FAILURE.
   */
  rHeartbeat(taskId: string): string;
  /** LIST: R task ids given up as FAILURE (dead letters), newest first; an operator can requeue them. */
  readonly rDead: string;
  /** STRING (JSON): the request an R task was accepted with ({task, args, options}), kept with the record for requeueing. */
  rRequest(taskId: string): string;
}

export function createKeyLayout(prefix: string): KeyLayout {
  if (!KEY_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `key prefix must be 1-64 characters of letters, digits, '_', '.' or '-' (got ${JSON.stringify(prefix)})`,
    );
  }
  return {
    prefix,
    task: (taskId) => `${prefix}:task:${taskId}`,
    job: (taskId) => `${prefix}:job:${taskId}`,
    jobPrefix: `${prefix}:job:`,
    nodeQueue: `${prefix}:node:queue`,
    nodeActive: `${prefix}:node:active`,
    nodeLeases: `${prefix}:node:leases`,
    nodeDelayed: `${prefix}:node:delayed`,
    nodeDead: `${prefix}:node:dead`,
    nodeCancelChannel: `${prefix}:node:cancel`,
    idempotency: (scope) => `${prefix}:idem:${scope}`,
    rateLimitPrefix: `${prefix}:ratelimit:`,
    rHeartbeat: (taskId) => `${prefix}:r:heartbeat:${taskId}`,
    rDead: `${prefix}:r:dead`,
    rRequest: (taskId) => `${prefix}:r:request:${taskId}`,
  };
}
