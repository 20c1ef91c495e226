/**
 * The gateway's client of the R service. It uses the global fetch with an undici Agent as the
 * dispatcher: timeouts on connect, headers and body, and no keep-alive (httpuv's Nagle delay costs
 * ~40 ms per request on a reused connection). Every way the R service can fail becomes a
 * SwitchyardError the caller can act on; none becomes a hang or an opaque 500.
 */
import { Agent } from 'undici';
import { SwitchyardError, type ErrorCode, type TaskSubmission } from '@switchyard/shared';

export interface RServiceOptions {
  baseUrl: string;
  timeoutMs: number;
}

interface RErrorBody {
  error?: { code?: string; message?: string; fields?: { field: string; message: string }[] };
}

export class RServiceClient {
  private readonly agent: Agent;

  constructor(private readonly options: RServiceOptions) {
    this.agent = new Agent({
      pipelining: 0, // one request per connection: no keep-alive
      connectTimeout: options.timeoutMs,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /** Hands a task to the R service, which writes its PENDING record before it answers 202. */
  async submit(taskId: string, submission: TaskSubmission): Promise<void> {
    const url = new URL('/tasks', this.options.baseUrl);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: taskId, task: submission.task, args: submission.args }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        // Node 20 bundles an older undici; its fetch accepts this Agent though the types differ.
        dispatcher: this.agent,
      } as unknown as RequestInit);
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || /timeout/i.test(describe(error)));
      throw unavailable(
        timedOut
          ? `The R service did not answer within ${this.options.timeoutMs} ms`
          : `The R service cannot be reached (${describe(error)})`,
        error,
      );
    }
    if (response.status === 202) {
      const accepted = parseJson(text) as { task_id?: unknown } | null;
      if (accepted?.task_id !== taskId) throw unavailable('The R service answered with an unexpected body');
      return;
    }
    const body = parseJson(text) as RErrorBody | null;
    const message = typeof body?.error?.message === 'string' ? body.error.message : null;
    if (response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new SwitchyardError('worker_busy', message ?? 'The R worker is at its limit of running tasks', {
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
      });
    }
    if (response.status >= 400 && response.status < 500 && message !== null) {
      throw new SwitchyardError(clientErrorCode(response.status, body?.error?.code), message, {
        ...(body?.error?.fields ? { fields: body.error.fields } : {}),
      });
    }
    throw unavailable(`The R service failed (HTTP ${response.status})`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Keeps the R service's 4xx status: its code if it is one of ours with that status, else a fitting one. */
function clientErrorCode(status: number, code: string | undefined): ErrorCode {
  const byStatus: Record<number, ErrorCode> = { 400: 'invalid_json', 409: 'task_exists', 413: 'payload_too_large' };
  if (code === 'validation_failed' && status === 422) return 'validation_failed';
  return byStatus[status] ?? 'task_rejected';
}

function unavailable(message: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError('r_service_unavailable', message, { cause });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
