/**
 * SwitchyardClient: the gateway's HTTP API as typed methods, on the global fetch alone (Node 20 and
 * browsers). Waiting is fed by the server-sent event routes, never by polling collect.
 */
import { GatewayError, GatewayUnreachableError, TaskFailedError, WaitTimeoutError } from './errors.js';
import { followEventStream } from './event-stream.js';
import type { ServerSentEvent } from './sse.js';
import type {
  DeadLetterList,
  QueueInfo,
  SubmitOptions,
  TaskArgsOf,
  TaskEvent,
  TaskKind,
  TaskNameOf,
  TaskRecord,
  TaskResultOf,
  TaskState,
  WorkerInfo,
  WorkflowDefinition,
  WorkflowView,
} from './types.js';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:9000';

export interface SwitchyardClientOptions {
  /** The gateway's base URL. Default http://127.0.0.1:9000. */
  url?: string;
  /** Sent as X-API-Key when the gateway has API_KEYS set. */
  apiKey?: string;
}

export interface WaitOptions {
  /** Called with the record at once and after every change (PROGRESS carries current/total/status). */
  onProgress?: (record: TaskRecord) => void;
  /** Stops waiting (the task goes on); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Gives up after this long with a WaitTimeoutError (the task goes on). Default: no limit. */
  timeoutMs?: number;
}

export interface WorkflowWaitOptions extends Omit<WaitOptions, 'onProgress'> {
  /** Called with the workflow at once and after every change. */
  onProgress?: (workflow: WorkflowView) => void;
  /** Called with a step's record whenever it changes. */
  onStep?: (record: TaskRecord) => void;
}

export type CancelOutcome =
  /** It had not started: REVOKED at once. */
  | { outcome: 'revoked'; record: TaskRecord }
  /** It is running: its worker stops it and records REVOKED (wait for it to see that). */
  | { outcome: 'revoking'; task_id: string };

/** A workflow stream carries the workflow itself and its steps' task events. */
export type WorkflowEvent = { type: 'workflow'; workflow: WorkflowView } | ({ type: 'step' } & TaskEvent);

const TERMINAL_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'REVOKED'] satisfies TaskState[]);

export class SwitchyardClient {
  readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(options: SwitchyardClientOptions = {}) {
    this.url = (options.url ?? DEFAULT_GATEWAY_URL).replace(/\/+$/, '');
    this.headers = options.apiKey ? { 'x-api-key': options.apiKey } : {};
  }

  /** Submits a task; resolves with its id once the gateway accepted it. */
  submit<K extends TaskKind, T extends TaskNameOf<K>>(
    kind: K,
    task: T,
    args: TaskArgsOf<K, T>,
    options: SubmitOptions = {},
  ): Promise<string> {
    return this.submitUntyped(kind, task, args, options);
  }

  /**
   * `submit` for task names and arguments known only at run time (a command line, a form): the
   * gateway checks them and answers a GatewayError naming the field when they are wrong.
   */
  async submitUntyped(kind: TaskKind, task: string, args: unknown[], options: SubmitOptions = {}): Promise<string> {
    const { queue, idempotencyKey, traceparent, ...delivery } = options;
    const body = { task, args, queue, options: Object.keys(delivery).length > 0 ? delivery : undefined };
    const headers = { ...idempotencyHeader(idempotencyKey), ...(traceparent === undefined ? {} : { traceparent }) };
    const accepted = await this.json<{ task_id: string }>('POST', `/${kind}/execute`, body, headers);
    return accepted.task_id;
  }

  /** The task's record now, whatever its kind. */
  get(id: string): Promise<TaskRecord> {
    return this.json('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  /** Resolves with the final record (SUCCESS, FAILURE or REVOKED: look at `state`). */
  async wait(id: string, options: WaitOptions = {}): Promise<TaskRecord> {
    return this.withTimeout(id, options, async (signal) => {
      for await (const { record } of this.taskEvents(id, { signal })) {
        options.onProgress?.(record);
        if (TERMINAL_STATES.has(record.state)) return record;
      }
      throw new GatewayError(200, 'unexpected_response', `The event stream of ${id} ended before the task did`);
    });
  }

  /**
   * Submits, waits and returns the result, typed by the task registry:
   * `await client.run('node', 'add', [4, 6])` → 10. A task that fails or is cancelled throws a
   * TaskFailedError carrying its record.
   */
  async run<K extends TaskKind, T extends TaskNameOf<K>>(
    kind: K,
    task: T,
    args: TaskArgsOf<K, T>,
    options: SubmitOptions & WaitOptions = {},
  ): Promise<TaskResultOf<K, T>> {
    const { onProgress, signal, timeoutMs, ...submitOptions } = options;
    const id = await this.submit(kind, task, args, submitOptions);
    const record = await this.wait(id, { onProgress, signal, timeoutMs });
    if (record.state !== 'SUCCESS') throw new TaskFailedError(record);
    // The worker's result for this task: its type is the registry's (shared/src/task-types.ts).
    return record.result as TaskResultOf<K, T>;
  }

  /** Cancels a task of either kind (the kind is looked up unless given). */
  async cancel(id: string, options: { kind?: TaskKind } = {}): Promise<CancelOutcome> {
    const kind = options.kind ?? (await this.get(id)).worker;
    const response = await this.send('POST', `/${kind}/cancel`, { task_id: id });
    if (response.status === 202) return { outcome: 'revoking', task_id: id };
    return { outcome: 'revoked', record: await readJson<TaskRecord>(response) };
  }

  /** The task's changes as they happen: its current record first; ends after its terminal state. */
  async *taskEvents(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskEvent> {
    const events = this.follow(`/tasks/${encodeURIComponent(id)}/events`, options.signal, (event) =>
      TERMINAL_STATES.has(event.event),
    );
    for await (const event of events) yield taskEventOf(event);
  }

  /** Every task change of the matching queues, live, until `signal` aborts or the loop stops. */
  async *events(options: { kind?: TaskKind; queue?: string; signal?: AbortSignal } = {}): AsyncGenerator<TaskEvent> {
    const query = searchParams({ kind: options.kind, queue: options.queue });
    for await (const event of this.follow(`/events${query}`, options.signal)) yield taskEventOf(event);
  }

  /** Submits a workflow canvas (chain, group, chord, nested); resolves with the workflow id. */
  async workflow(definition: WorkflowDefinition, options: { idempotencyKey?: string } = {}): Promise<string> {
    const headers = idempotencyHeader(options.idempotencyKey);
    const accepted = await this.json<{ workflow_id: string }>('POST', '/workflows', definition, headers);
    return accepted.workflow_id;
  }

  getWorkflow(id: string): Promise<WorkflowView> {
    return this.json('GET', `/workflows/${encodeURIComponent(id)}`);
  }

  cancelWorkflow(id: string): Promise<WorkflowView> {
    return this.json('POST', `/workflows/${encodeURIComponent(id)}/cancel`);
  }

  /** The workflow's changes and its steps' as they happen; ends after the workflow's terminal state. */
  async *workflowEvents(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<WorkflowEvent> {
    const isWorkflowEnd = (event: ServerSentEvent) =>
      event.event === 'workflow' && TERMINAL_STATES.has(parseData<WorkflowView>(event).state);
    for await (const event of this.follow(
      `/workflows/${encodeURIComponent(id)}/events`,
      options.signal,
      isWorkflowEnd,
    )) {
      if (event.event === 'workflow') yield { type: 'workflow', workflow: parseData<WorkflowView>(event) };
      else yield { type: 'step', ...taskEventOf(event) };
    }
  }

  /** Resolves with the workflow once it ended (SUCCESS, FAILURE or REVOKED: look at `state`). */
  async waitWorkflow(id: string, options: WorkflowWaitOptions = {}): Promise<WorkflowView> {
    return this.withTimeout(id, options, async (signal) => {
      for await (const event of this.workflowEvents(id, { signal })) {
        if (event.type === 'step') {
          options.onStep?.(event.record);
          continue;
        }
        options.onProgress?.(event.workflow);
        if (TERMINAL_STATES.has(event.workflow.state)) return event.workflow;
      }
      throw new GatewayError(200, 'unexpected_response', `The event stream of workflow ${id} ended before it did`);
    });
  }

  async queues(): Promise<QueueInfo[]> {
    return (await this.json<{ queues: QueueInfo[] }>('GET', '/queues')).queues;
  }

  queue(kind: TaskKind, name: string): Promise<QueueInfo> {
    return this.json('GET', `/queues/${kind}/${encodeURIComponent(name)}`);
  }

  /** Workers stop taking from the queue; submissions go on. */
  pauseQueue(kind: TaskKind, name: string): Promise<QueueInfo> {
    return this.json('POST', `/queues/${kind}/${encodeURIComponent(name)}/pause`);
  }

  resumeQueue(kind: TaskKind, name: string): Promise<QueueInfo> {
    return this.json('POST', `/queues/${kind}/${encodeURIComponent(name)}/resume`);
  }

  async workers(): Promise<WorkerInfo[]> {
    return (await this.json<{ workers: WorkerInfo[] }>('GET', '/workers')).workers;
  }

  /** Tasks of one kind that failed every attempt, newest first (of one queue, or all). */
  deadLetters(kind: TaskKind, options: { queue?: string; limit?: number } = {}): Promise<DeadLetterList> {
    return this.json('GET', `/${kind}/dead-letters${searchParams(options)}`);
  }

  /** Runs a dead letter again with its attempts reset (the kind is looked up unless given). */
  async requeue(id: string, options: { kind?: TaskKind } = {}): Promise<void> {
    const kind = options.kind ?? (await this.get(id)).worker;
    await this.json('POST', `/${kind}/dead-letters/requeue`, { task_id: id });
  }

  private follow(path: string, signal: AbortSignal | undefined, isLast?: (event: ServerSentEvent) => boolean) {
    return followEventStream({ url: this.url + path, headers: this.headers, gatewayUrl: this.url, signal, isLast });
  }

  private async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return readJson<T>(await this.send(method, path, body, headers));
  }

  /** One request; an error answer becomes a GatewayError, a failed connection a GatewayUnreachableError. */
  private async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers: { ...this.headers, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new GatewayUnreachableError(this.url, error);
    }
    if (!response.ok) throw await GatewayError.from(response);
    return response;
  }

  private async withTimeout<T>(
    id: string,
    options: { signal?: AbortSignal; timeoutMs?: number },
    wait: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const { timeoutMs } = options;
    const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    const signals = [options.signal, timeout].filter((signal) => signal !== undefined);
    try {
      return await wait(signals.length > 0 ? AbortSignal.any(signals) : undefined);
    } catch (error) {
      if (timeoutMs !== undefined && timeout?.aborted && !options.signal?.aborted) {
        throw new WaitTimeoutError(id, timeoutMs);
      }
      throw error;
    }
  }
}

async function readJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    // The gateway's answers are its documented schemas (types.ts mirrors them, checked by a test).
    return JSON.parse(text) as T;
  } catch {
    throw new GatewayError(response.status, 'unexpected_response', `Not JSON: ${text.slice(0, 200)}`);
  }
}

function parseData<T>(event: ServerSentEvent): T {
  try {
    return JSON.parse(event.data) as T;
  } catch {
    throw new GatewayError(200, 'unexpected_response', `An event's data is not JSON: ${event.data.slice(0, 200)}`);
  }
}

function taskEventOf(event: ServerSentEvent): TaskEvent {
  const record = parseData<TaskRecord>(event);
  return { id: event.id, state: record.state, record };
}

function idempotencyHeader(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { 'idempotency-key': key };
}

function searchParams(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) params.set(name, String(value));
  const query = params.toString();
  return query === '' ? '' : `?${query}`;
}
