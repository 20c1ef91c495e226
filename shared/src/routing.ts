/**
 * Which queue a task goes to, first that applies: the request's `queue`; a route for its task name
 * from TASK_ROUTES (Celery's `task_routes`); `default`.
 */
import { DEFAULT_QUEUE, QUEUE_NAME_RULE, isQueueName } from './keys.js';
import { TASK_CATALOGUE, WORKER_KINDS, type WorkerKind } from './tasks.js';

/** Queue by task name, per worker kind. */
export type TaskRoutes = Record<WorkerKind, Record<string, string>>;

export const NO_ROUTES: TaskRoutes = { node: {}, r: {} };

/**
 * Parses TASK_ROUTES: `task=queue` pairs separated by commas; `task` may be `node:task` or `r:task`
 * to route one kind's task only, else it routes that name for every kind that has it. Throws an
 * Error whose message says what must be true.
 */
export function parseTaskRoutes(text: string): TaskRoutes {
  const routes: TaskRoutes = { node: {}, r: {} };
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const match = /^(?:(node|r):)?([A-Za-z0-9_]+)=(.*)$/.exec(pair);
    if (!match) throw new Error(`must be task=queue pairs separated by commas (got "${pair}")`);
    const [, kind, task = '', queue = ''] = match;
    if (!isQueueName(queue)) throw new Error(`queue of "${pair}" ${QUEUE_NAME_RULE}`);
    const kinds = (kind ? [kind] : WORKER_KINDS).filter((k): k is WorkerKind =>
      Object.hasOwn(TASK_CATALOGUE[k as WorkerKind], task),
    );
    if (kinds.length === 0) throw new Error(`"${pair}" names no task${kind ? ` of kind ${kind}` : ''}`);
    for (const k of kinds) routes[k][task] = queue;
  }
  return routes;
}

export function routeTask(routes: TaskRoutes, kind: WorkerKind, task: string, requested?: string): string {
  return requested ?? routes[kind][task] ?? DEFAULT_QUEUE;
}

/** The queues a worker of `kind` serves by default under `npm start`: `default`, then every routed one. */
export function routedQueues(routes: TaskRoutes, kind: WorkerKind): string[] {
  return [...new Set([DEFAULT_QUEUE, ...Object.values(routes[kind])])];
}

/** Parses QUEUES: queue names separated by commas, in order of preference, no repeats. */
export function parseQueueList(text: string): string[] {
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0) throw new Error('must name at least one queue');
  const bad = names.find((n) => !isQueueName(n));
  if (bad !== undefined) throw new Error(`each queue name ${QUEUE_NAME_RULE} (got "${bad}")`);
  if (new Set(names).size !== names.length) throw new Error('must not name a queue twice');
  return names;
}
