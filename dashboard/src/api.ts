/**
 * The gateway's HTTP API as the dashboard calls it: JSON over fetch with the API key (when keys are
 * on). The response shapes are the typed client's (@switchyard/client, which its type test checks
 * against the gateway's schemas): type-only imports, erased from the bundle.
 */
import type { QueueInfo, TaskRecord, WorkerInfo, WorkflowStepView, WorkflowView } from '@switchyard/client';

export type WorkerKind = 'node' | 'r';
export const WORKER_KINDS: readonly WorkerKind[] = ['node', 'r'];

export type TaskState = 'PENDING' | 'STARTED' | 'PROGRESS' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED';
export const TASK_STATES: readonly TaskState[] = [
  'PENDING',
  'STARTED',
  'PROGRESS',
  'RETRY',
  'SUCCESS',
  'FAILURE',
  'REVOKED',
];
export const isTerminal = (state: string): boolean => state === 'SUCCESS' || state === 'FAILURE' || state === 'REVOKED';

export type { QueueInfo, TaskRecord, WorkerInfo, WorkflowView };
export type WorkflowStep = WorkflowStepView;
export type ThroughputMinute = QueueInfo['throughput'][number];

/** One row of GET /workflows, newest first. */
export interface WorkflowSummary {
  workflow_id: string;
  state: string;
  done: number;
  total: number;
  error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** A refusal of the API, with the message it gave (every error body is {error: {code, message}}). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** The URL of an event stream; EventSource cannot send headers, so the key goes in `api_key`. */
  streamUrl(path: string): string;
}

function errorOf(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const { error } = body;
    if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
      const code = 'code' in error && typeof error.code === 'string' ? error.code : 'error';
      return new ApiError(status, code, error.message);
    }
  }
  return new ApiError(status, 'error', `The gateway answered HTTP ${status}`);
}

/**
 * `apiKey` is asked at each call, so a key entered later is used at once; `onUnauthorized` runs on
 * a 401 (the key was wrong or withdrawn) before the call fails.
 */
export function createApi(base: string, apiKey: () => string | null, onUnauthorized: () => void): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const key = apiKey();
    if (key !== null) headers['x-api-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError(0, 'unreachable', 'The gateway did not answer; is it running?');
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null; // not JSON (a proxy's error page): the status says enough
    }
    if (response.status === 401) onUnauthorized();
    if (!response.ok) throw errorOf(response.status, parsed);
    return parsed as T;
  }

  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    streamUrl(path) {
      const key = apiKey();
      if (key === null) return `${base}${path}`;
      return `${base}${path}${path.includes('?') ? '&' : '?'}api_key=${encodeURIComponent(key)}`;
    },
  };
}
