/**
 * The gateway's client of the R service. It uses the global fetch with an undici Agent as the
 * dispatcher: timeouts on connect, headers and body, and no keep-alive (httpuv's Nagle delay costs
 * ~40 ms per request on a reused connection). Every way the R service can fail becomes a
 * SwitchyardError the caller can act on; none becomes a hang or an opaque 500.
 */
import { Agent } from 'undici';
import { SwitchyardError, type ErrorCode, type Submission } from '@switchyard/shared';

export interface RServiceOptions {
  baseUrl: string;
  timeoutMs: number;
  /** R_SERVICE_TOKEN: shown on every call; empty for none. */
  token?: string;
}

interface RErrorBody {
  error?: { code?: string; message?: string; fields?: { field: string; message: string }[] };
}

interface RReply {
  status: number;
  headers: Headers;
  body: unknown;
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

  /** Hands a task to the R service, which writes its PENDING record and queues it before it answers 202. */
  async submit(taskId: string, { task, args, queue, options, traceparent }: Submission): Promise<void> {
    const reply = await this.call('POST', '/tasks', {
      task_id: taskId,
      task,
      args,
      queue,
      ...(options ? { options } : {}),
      ...(traceparent ? { traceparent } : {}),
    });
    if (reply.status === 202) {
      if ((reply.body as { task_id?: unknown } | null)?.task_id !== taskId) {
        throw unavailable('The R service answered with an unexpected body');
      }
      return;
    }
    throw this.failure(reply);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async call(method: string, path: string, body?: unknown): Promise<RReply> {
    try {
      const response = await fetch(new URL(path, this.options.baseUrl), {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        // Node 20 bundles an older undici; its fetch accepts this Agent though the types differ.
        dispatcher: this.agent,
      } as unknown as RequestInit);
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: parseJson(text) };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || /timeout/i.test(describe(error)));
      throw unavailable(
        timedOut
          ? `The R service did not answer within ${this.options.timeoutMs} ms`
          : `The R service cannot be reached (${describe(error)})`,
        error,
      );
    }
  }

  /** An R service answer that is not success: its 429 and 4xx pass on; anything else is an outage. */
  private failure(reply: RReply): SwitchyardError {
    const error = (reply.body as RErrorBody | null)?.error;
    const message = typeof error?.message === 'string' ? error.message : null;
    if (reply.status === 429) {
      const retryAfter = Number(reply.headers.get('retry-after'));
      return new SwitchyardError('queue_full', message ?? 'The R queue is full; retry later', {
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
      });
    }
    if (reply.status === 401) {
      // The caller did nothing wrong: the gateway and the R service disagree on R_SERVICE_TOKEN.
      return unavailable('The R service refused the gateway (R_SERVICE_TOKEN differs between them)');
    }
    if (reply.status >= 400 && reply.status < 500 && message !== null) {
      return new SwitchyardError(clientErrorCode(reply.status, error?.code), message, {
        ...(error?.fields ? { fields: error.fields } : {}),
      });
    }
    return unavailable(`The R service failed (HTTP ${reply.status})`);
  }
}

/** Keeps the R service's 4xx status: its code if it is one of ours with that status, else a fitting one. */
function clientErrorCode(status: number, code: string | undefined): ErrorCode {
  if (code === 'validation_failed' && status === 422) return 'validation_failed';
  const byStatus: Record<number, ErrorCode> = {
    400: 'invalid_json',
    404: 'task_not_found',
    409: code === 'task_finished' ? 'task_finished' : 'task_exists',
    413: 'payload_too_large',
  };
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
