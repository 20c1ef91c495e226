/**
 * How a task's payload is kept in its job hash: as fields short enough that Redis keeps the hash
 * in its compact encoding. A hash is a listpack while every value is at most
 * `hash-max-listpack-value` (64 bytes by default); one longer value makes the whole hash a
 * hashtable, and a waiting long_task(1)'s job hash then takes 832 bytes instead of 344.
 *
 * - `payload`: MessagePack of the task, its arguments, a workflow step's ids, and only the options
 *   that differ from what the task runs with when nothing is asked (its catalogue defaults,
 *   priority 5, no limits, no expiry, no eta);
 * - `created_at` and `traceparent` (empty when none): fields of their own.
 *
 * The reader puts the defaults back from the same catalogue. The R worker reads and writes the same
 * fields (r-worker/R/task_queue.R). A task with long arguments still gets a hashtable, as a BullMQ
 * job with long data does.
 */
import { codec } from './codec.js';
import { NO_RETRY, TASK_OPTION_NAMES, resolveOptions, type TaskOptions } from './options.js';
import type { TaskPayload } from './queue-types.js';
import { TASK_CATALOGUE, type WorkerKind } from './tasks.js';

export interface StoredPayload {
  payload: Buffer;
  created_at: string;
  /** '' when the task has none. */
  traceparent: string;
}

const defaultsByTask = new Map<string, TaskOptions>();

/** What `task` of `kind` runs with when nothing is asked for. */
function defaultOptions(kind: WorkerKind, task: string): TaskOptions {
  const id = `${kind}:${task}`;
  const known = defaultsByTask.get(id);
  if (known !== undefined) return known;
  const definition = TASK_CATALOGUE[kind][task];
  const defaults = resolveOptions(definition?.defaults ?? NO_RETRY);
  // Catalogue tasks only: a name from outside (a Celery message, say) must not grow the cache.
  if (definition) defaultsByTask.set(id, defaults);
  return defaults;
}

function sameOption(a: TaskOptions[keyof TaskOptions], b: TaskOptions[keyof TaskOptions]): boolean {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    return a.type === b.type && a.delay_ms === b.delay_ms && a.jitter === b.jitter;
  }
  return a === b;
}

export function storePayload(kind: WorkerKind, payload: TaskPayload): StoredPayload {
  const defaults = defaultOptions(kind, payload.task);
  const options: Partial<TaskOptions> = {};
  const keepIfAsked = <K extends keyof TaskOptions>(name: K) => {
    if (!sameOption(payload.options[name], defaults[name])) options[name] = payload.options[name];
  };
  TASK_OPTION_NAMES.forEach(keepIfAsked);
  const step =
    payload.workflow_id === undefined ? {} : { workflow_id: payload.workflow_id, parent_id: payload.parent_id };
  return {
    payload: codec.encode({ task: payload.task, args: payload.args, options, ...step }),
    created_at: payload.created_at,
    traceparent: payload.traceparent ?? '',
  };
}

/**
 * The payload stored as these fields. A job written before the payload was split holds
 * created_at and traceparent inside `payload`, and reads back the same.
 */
export function readPayload(kind: WorkerKind, payload: Buffer, createdAt: string, traceparent: string): TaskPayload {
  const stored = codec.decode(payload) as Partial<TaskPayload> & { task: string; args: unknown[] };
  const options = { ...defaultOptions(kind, stored.task), ...stored.options };
  const read: TaskPayload = {
    task: stored.task,
    args: stored.args,
    created_at: createdAt === '' ? (stored.created_at ?? '') : createdAt,
    options,
  };
  const trace = traceparent === '' ? stored.traceparent : traceparent;
  if (trace) read.traceparent = trace;
  if (stored.workflow_id !== undefined) {
    read.workflow_id = stored.workflow_id;
    read.parent_id = stored.parent_id ?? null;
  }
  return read;
}
