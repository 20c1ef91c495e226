/**
 * The gateway's server-sent events: GET /events (every task change of matching queues),
 * /tasks/{id}/events and /workflows/{id}/events (the current state at once, then each change, ending
 * after the terminal state). EventSource reconnects by itself with Last-Event-ID, so nothing is
 * missed after a drop; a stream that ended because its task or workflow is over is closed here,
 * or EventSource would reconnect to it for ever.
 */
import { TASK_STATES, isTerminal, type Api, type TaskRecord, type WorkflowView } from './api.js';

export interface StreamHandlers {
  /** A task event: its name is the record's state. */
  onRecord?(record: TaskRecord): void;
  /** A workflow event (only on /workflows/{id}/events). */
  onWorkflow?(view: WorkflowView): void;
  /**
   * `open`: connected (again). `retrying`: the connection dropped and EventSource tries again.
   * `refused`: the gateway answered with an error (no such task, no key): EventSource gave up.
   */
  onConnection?(state: ConnectionState): void;
}

export type ConnectionState = 'open' | 'retrying' | 'refused';

export interface StreamOptions {
  /** Close after the terminal record of this task (a task stream) ... */
  endsWithTask?: string;
  /** ... or after the workflow's terminal state (a workflow stream). */
  endsWithWorkflow?: boolean;
}

/** Opens the stream at `path`; the function returned closes it. */
export function openStream(api: Api, path: string, handlers: StreamHandlers, options: StreamOptions = {}): () => void {
  const source = new EventSource(api.streamUrl(path));
  let closedHere = false;
  const close = () => {
    closedHere = true;
    source.close();
  };
  const parse = (event: MessageEvent<string>): unknown => {
    try {
      return JSON.parse(event.data);
    } catch {
      return null;
    }
  };
  for (const state of TASK_STATES) {
    source.addEventListener(state, (event) => {
      const record = parse(event) as TaskRecord | null;
      if (record === null) return;
      handlers.onRecord?.(record);
      if (options.endsWithTask === record.task_id && isTerminal(record.state)) close();
    });
  }
  source.addEventListener('workflow', (event) => {
    const view = parse(event) as WorkflowView | null;
    if (view === null) return;
    handlers.onWorkflow?.(view);
    if (options.endsWithWorkflow && isTerminal(view.state)) close();
  });
  source.addEventListener('open', () => handlers.onConnection?.('open'));
  source.addEventListener('error', () => {
    if (closedHere) return;
    handlers.onConnection?.(source.readyState === EventSource.CLOSED ? 'refused' : 'retrying');
  });
  return close;
}
