/**
 * The gateway as a Celery client (CELERY_BROKER_URL): `/celery/execute` publishes a task message in
 * Celery's protocol v2 on its Redis transport (kombu's JSON envelope around a base64 body, LPUSHed
 * onto the queue's list), and `/celery/collect` reads Celery's result backend
 * (`celery-task-meta-<id>`, on the same Redis) and shows it in Switchyard's record shape. So real
 * Python Celery workers run behind Switchyard's REST API, as in the seed.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SwitchyardError, type Redis } from '@switchyard/shared';

/** Celery's states, and the ones that do not change again. */
const CELERY_TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export interface CelerySubmission {
  task: string;
  args: unknown[];
  kwargs?: Record<string, unknown>;
  /** Celery queue (a kombu Redis list); Celery's default is `celery`. */
  queue: string;
}

/** What collect shows for a Celery task: Switchyard's record fields, from Celery's result backend. */
export interface CeleryRecord {
  task_id: string;
  worker: 'celery';
  queue: string;
  task: string;
  args: unknown[];
  state: string;
  current: number;
  total: number;
  status: string;
  result: unknown;
  error: string | null;
  finished_at: string | null;
}

interface CeleryMeta {
  status?: string;
  result?: unknown;
  traceback?: string | null;
  date_done?: string | null;
}

/** Python's repr of a list of JSON values, as Celery writes argsrepr (for its logs and Flower). */
function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

export function createCeleryBroker(
  broker: Redis,
  tracking: { redis: Redis; key: (taskId: string) => string; ttlSeconds: number },
) {
  const origin = `switchyard-gateway@${hostname()}`;
  return {
    /** Publishes the task; its id is also noted in Switchyard's Redis, so collect knows it exists. */
    async publish(taskId: string, { task, args, kwargs = {}, queue }: CelerySubmission): Promise<void> {
      const body = [args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }];
      const message = {
        body: Buffer.from(JSON.stringify(body)).toString('base64'),
        'content-encoding': 'utf-8',
        'content-type': 'application/json',
        headers: {
          lang: 'py',
          task,
          id: taskId,
          shadow: null,
          eta: null,
          expires: null,
          group: null,
          group_index: null,
          retries: 0,
          timelimit: [null, null],
          root_id: taskId,
          parent_id: null,
          argsrepr: `(${args.map(pythonRepr).join(', ')}${args.length === 1 ? ',' : ''})`,
          kwargsrepr: pythonRepr(kwargs),
          origin,
          ignore_result: false,
        },
        properties: {
          correlation_id: taskId,
          reply_to: randomUUID(),
          delivery_mode: 2,
          delivery_info: { exchange: '', routing_key: queue },
          priority: 0,
          body_encoding: 'base64',
          delivery_tag: randomUUID(),
        },
      };
      await tracking.redis.set(tracking.key(taskId), JSON.stringify({ task, args, queue }), 'EX', tracking.ttlSeconds);
      await broker.lpush(queue, JSON.stringify(message));
    },

    /** The task as collect shows it; 404 for an id this gateway never published. */
    async collect(taskId: string): Promise<CeleryRecord> {
      const [noted, meta] = await Promise.all([
        tracking.redis.get(tracking.key(taskId)),
        broker.get(`celery-task-meta-${taskId}`),
      ]);
      if (noted === null) {
        throw new SwitchyardError(
          'task_not_found',
          `No Celery task with id ${taskId}: it never existed or its record expired`,
        );
      }
      const { task, args, queue } = JSON.parse(noted) as { task: string; args: unknown[]; queue: string };
      const parsed: CeleryMeta = meta === null ? { status: 'PENDING', result: null } : (JSON.parse(meta) as CeleryMeta);
      const state = parsed.status ?? 'PENDING';
      const result = parsed.result ?? null;
      // The seed's long_task reports {current, total, status} while it runs and adds `result` at the
      // end: those show at the top level, as the seed's collect did.
      const fields =
        typeof result === 'object' && result !== null && !Array.isArray(result)
          ? (result as Record<string, unknown>)
          : {};
      const number = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
      const failed = state === 'FAILURE';
      return {
        task_id: taskId,
        worker: 'celery',
        queue,
        task,
        args,
        state,
        current: number(fields.current, state === 'SUCCESS' ? 1 : 0),
        total: number(fields.total, 1),
        status: typeof fields.status === 'string' ? fields.status : state === 'SUCCESS' ? 'Task completed!' : state,
        result: failed ? null : 'result' in fields ? fields.result : state === 'SUCCESS' ? result : null,
        error: failed ? celeryError(result) : null,
        finished_at: CELERY_TERMINAL.has(state) ? (parsed.date_done ?? null) : null,
      };
    },
  };
}

/** Celery stores an exception as {exc_type, exc_message, exc_module}. */
function celeryError(result: unknown): string {
  if (typeof result === 'object' && result !== null) {
    const { exc_type: type, exc_message: message } = result as { exc_type?: unknown; exc_message?: unknown };
    const text = Array.isArray(message) ? message.join(', ') : String(message ?? '');
    return `${String(type ?? 'Exception')}: ${text}`;
  }
  return String(result);
}

export type CeleryBroker = ReturnType<typeof createCeleryBroker>;
