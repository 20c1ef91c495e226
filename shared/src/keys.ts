/**
 * The Redis key layout. Every key Switchyard reads or writes is built here and nowhere else; the R
 * worker builds the same keys from shared/contracts/key-layout.json (its tests check it).
 *
 * Every key of one queue shares a Redis Cluster hash tag, `{<kind>:<queue>}`, so each Lua script
 * touches one slot only. A task's record and job hash live with its queue; `locator(id)` says which
 * queue that is, so a record is still found from its task id alone.
 */

/** A prefix may not contain the separator, so keys of two deployments can never collide. */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Queue names: letters, digits, `-`, `_`, `.`; at most 64 (no `:`, `{` or `}`, which keys use). */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const QUEUE_NAME_RULE = "must be 1-64 letters, digits, '-', '_' or '.'";
export const DEFAULT_QUEUE = 'default';

/** The keys of one queue of one worker kind. */
export interface QueueKeys {
  readonly kind: string;
  readonly name: string;
  /** `<kind>:<name>`: how a queue is named in the queue set and in locators. */
  readonly id: string;
  /** ZSET: ids waiting for a worker, scored so that ZPOPMIN takes the highest priority first, FIFO within a level. */
  readonly wait: string;
  /** ZSET: ids waiting for a time (countdown, eta, retry backoff), scored by when they are due (ms). */
  readonly delayed: string;
  /** ZSET: ids a worker holds, scored by the lease deadline (ms); the active set. */
  readonly leases: string;
  /** ZSET: dead letters (failed every attempt), scored by when they failed (ms). */
  readonly dead: string;
  /** STRING: present while the queue is paused: workers take nothing from it. */
  readonly paused: string;
  /** STRING: counter giving each waiting id its place in line. */
  readonly seq: string;
  /** ZSET with one member: wakes blocked workers; its score is when the queue next has work (ms, 0 = now). */
  readonly marker: string;
  /** ZSET: ids of workflow steps that ended and whose workflow has not taken note yet (the outbox), by when (ms). */
  readonly handoffs: string;
  /** STREAM: every record the queue's scripts write (fields `task`, `record`), trimmed to about 10,000; feeds live events. */
  readonly events: string;
  /** HASH: outcome counts, run-time buckets and per-minute throughput the scripts count (shared/lua/includes/stats.lua). */
  readonly stats: string;
  /** STRING: the MessagePack status record of one task; expires RESULT_TTL_SECONDS after its last write. */
  task(taskId: string): string;
  /** HASH: a task's delivery bookkeeping (payload, priority, attempts, failures, lease token, flags). */
  job(taskId: string): string;
  /** `job(id)` without the id: Lua scripts that visit many jobs append the id to it. */
  readonly jobPrefix: string;
  /** `task(id)` without the id: Lua scripts that write many records append the id to it. */
  readonly taskPrefix: string;
}

export interface KeyLayout {
  readonly prefix: string;
  /** The keys of queue `name` of worker kind `kind`; throws for a bad queue name. */
  queue(kind: string, name: string): QueueKeys;
  /** STRING: `<kind>:<queue>` of a task, so its record is found from its id alone; expires with the record. */
  locator(taskId: string): string;
  /** SET: every queue (`<kind>:<name>`) that has been used, for listing. */
  readonly queueSet: string;
  /** ZSET: live worker ids scored by their last heartbeat (ms). */
  readonly workerSet: string;
  /** STRING (JSON) with a TTL: what one worker says about itself at each heartbeat. */
  worker(workerId: string): string;
  /** Pub/sub channel: ids of running tasks of this kind to stop, heard by every worker of the kind. */
  cancelChannel(kind: string): string;
  /** Pub/sub channel: names of this kind's queues that just got work (wakes workers that cannot block). */
  wakeChannel(kind: string): string;
  /** Pub/sub channel: names of queues (`<kind>:<queue>`) whose handoffs set just got a workflow step that ended. */
  readonly handoffChannel: string;
  /** STRING (MessagePack): a workflow's definition and the state of each of its nodes; its own hash tag. */
  workflow(workflowId: string): string;
  /** STRING: the version of a workflow's state, for compare-and-set; same hash tag. */
  workflowVersion(workflowId: string): string;
  /** STREAM: one entry (field `version`) per change of a workflow's state; same hash tag; feeds its live events. */
  workflowEvents(workflowId: string): string;
  /** ZSET: ids of workflows that ended, by when (ms), the newest few hundred kept, for listing. */
  readonly recentWorkflows: string;
  /** ZSET: ids of unfinished workflows, by when they last changed (ms), swept for hand-offs left undone. */
  readonly activeWorkflows: string;
  /** STRING: `<task id> <request digest>` of the first request with an Idempotency-Key; `scope` digests kind, caller and key. */
  idempotency(scope: string): string;
  /** Prefix of the rate limiter's per-caller counters. */
  readonly rateLimitPrefix: string;
  /**
   * The Celery bridge's bookkeeping: `inflight` and `dead` (LISTs on Celery's broker: messages being
   * bridged, and those that could not be read), `mirrored` (ZSET: bridged tasks not ended yet) and
   * `seen` (HASH: the last state mirrored of each).
   */
  celeryBridge(name: 'inflight' | 'dead' | 'mirrored' | 'seen'): string;
  /** STRING (JSON): a task the gateway published to Celery ({task, args, queue}), so collect knows it. */
  celeryTask(taskId: string): string;
}

export function isQueueName(name: string): boolean {
  return QUEUE_NAME_PATTERN.test(name);
}

/** A queue's id `<kind>:<name>` (in the queue set, locators and messages) split up; null if it is not one. */
export function parseQueueId(id: string): { kind: 'node' | 'r'; name: string } | null {
  const colon = id.indexOf(':');
  const kind = id.slice(0, colon);
  const name = id.slice(colon + 1);
  return colon > 0 && (kind === 'node' || kind === 'r') && isQueueName(name) ? { kind, name } : null;
}

export function createKeyLayout(prefix: string): KeyLayout {
  if (!KEY_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `key prefix must be 1-64 characters of letters, digits, '_', '.' or '-' (got ${JSON.stringify(prefix)})`,
    );
  }
  const queues = new Map<string, QueueKeys>();
  return {
    prefix,
    queue(kind, name) {
      const id = `${kind}:${name}`;
      const known = queues.get(id);
      if (known) return known;
      if (!isQueueName(name)) throw new Error(`queue name ${QUEUE_NAME_RULE} (got ${JSON.stringify(name)})`);
      const base = `${prefix}:{${id}}:`;
      const keys: QueueKeys = {
        kind,
        name,
        id,
        wait: `${base}wait`,
        delayed: `${base}delayed`,
        leases: `${base}leases`,
        dead: `${base}dead`,
        paused: `${base}paused`,
        seq: `${base}seq`,
        marker: `${base}marker`,
        handoffs: `${base}handoffs`,
        events: `${base}events`,
        stats: `${base}stats`,
        task: (taskId) => `${base}task:${taskId}`,
        job: (taskId) => `${base}job:${taskId}`,
        jobPrefix: `${base}job:`,
        taskPrefix: `${base}task:`,
      };
      if (queues.size < 10_000) queues.set(id, keys);
      return keys;
    },
    locator: (taskId) => `${prefix}:locator:${taskId}`,
    queueSet: `${prefix}:queues`,
    workerSet: `${prefix}:workers`,
    worker: (workerId) => `${prefix}:worker:${workerId}`,
    cancelChannel: (kind) => `${prefix}:${kind}:cancel`,
    wakeChannel: (kind) => `${prefix}:${kind}:wake`,
    handoffChannel: `${prefix}:handoff`,
    workflow: (workflowId) => `${prefix}:{wf:${workflowId}}:workflow`,
    workflowVersion: (workflowId) => `${prefix}:{wf:${workflowId}}:version`,
    workflowEvents: (workflowId) => `${prefix}:{wf:${workflowId}}:events`,
    recentWorkflows: `${prefix}:workflows:recent`,
    activeWorkflows: `${prefix}:workflows:active`,
    idempotency: (scope) => `${prefix}:idem:${scope}`,
    rateLimitPrefix: `${prefix}:ratelimit:`,
    celeryTask: (taskId) => `${prefix}:celery:${taskId}`,
    celeryBridge: (name) => `${prefix}:celery-bridge:${name}`,
  };
}
