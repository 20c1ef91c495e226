/**
 * What the gateway answers, as the client hands it on. The task record and the task signatures come
 * from @switchyard/shared (type-only imports, erased at run time); the shapes below mirror the
 * gateway's response schemas (gateway/src/http/schemas.ts), and client/test/types.test.ts fails the
 * type check when they drift apart.
 */
import type { TaskKind, TaskNameOf, TaskOptionsInput, TaskRecord, TaskState } from '@switchyard/shared';

export type {
  Dataset,
  LinearFit,
  SummaryStats,
  TaskSignatures,
  TaskArgsOf,
  TaskKind,
  TaskNameOf,
  TaskOptionsInput,
  TaskRecord,
  TaskResultOf,
  TaskState,
  WorkerInfo,
} from '@switchyard/shared';

/** How a task is submitted besides its arguments: its queue, an idempotency key, and delivery options. */
export interface SubmitOptions extends TaskOptionsInput {
  /** The queue to put it in. Default: the gateway's route for the task name (TASK_ROUTES), else `default`. */
  queue?: string;
  /** Sent as Idempotency-Key: the same key and request again answers the same task id. */
  idempotencyKey?: string;
  /** A W3C traceparent to continue the caller's trace (kept in the record, logged by the worker). */
  traceparent?: string;
}

/** One change of a task, as the event streams deliver it. */
export interface TaskEvent {
  /** The stream id: what a reconnect sends as Last-Event-ID. */
  id: string | undefined;
  state: TaskState;
  record: TaskRecord;
}

export interface QueueInfo {
  kind: TaskKind;
  name: string;
  waiting: number;
  /** Waiting tasks per priority ("0" … "9"), only priorities that have any. */
  waiting_by_priority: Record<string, number>;
  delayed: number;
  active: number;
  dead: number;
  paused: boolean;
  consumers: number;
  /** Tasks that ended in each of the last 15 minutes, oldest first, this minute last. */
  throughput: { minute: string; succeeded: number; failed: number }[];
  oldest_waiting_age_ms: number | null;
}

export interface DeadLetterList {
  total: number;
  tasks: TaskRecord[];
}

export type WorkflowState = 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'REVOKED';

export interface WorkflowStepView {
  /** Where the step is in the canvas, e.g. `chain.1` or `chord.header.0`. */
  path: string;
  task_id: string;
  worker: TaskKind;
  task: string;
  queue: string;
  state: string;
  current: number;
  total: number;
  error: string | null;
}

export interface WorkflowView {
  workflow_id: string;
  state: WorkflowState;
  /** Steps that have ended. */
  done: number;
  /** Steps in all. */
  total: number;
  /** The result of the workflow's last node once SUCCESS, else null. */
  result: unknown;
  error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  steps: WorkflowStepView[];
}

/** A step of a workflow, its task name checked against its worker kind. */
export type WorkflowStep = {
  [K in TaskKind]: {
    [T in TaskNameOf<K>]: {
      worker: K;
      task: T;
      /** Its own arguments; a receiving step gets the previous result put in front of them. */
      args?: unknown[];
      queue?: string;
      options?: TaskOptionsInput;
      /** false: this step does not receive the result of what comes before it. */
      pass_result?: boolean;
      /** In a group or chord header: `continue` fills the slot with the error instead of failing. */
      on_failure?: 'fail' | 'continue';
    };
  }[TaskNameOf<K>];
}[TaskKind];

/** A workflow canvas: a step, a chain, a group or a chord, nested as deep as the gateway allows. */
export type WorkflowDefinition =
  | WorkflowStep
  | { chain: WorkflowDefinition[] }
  | { group: WorkflowDefinition[] }
  | { chord: { header: WorkflowDefinition[]; body: WorkflowDefinition } };
