/** A caller of a running gateway over HTTP, the way a user's code would call it. */
import { waitFor } from './wait.js';

export interface CollectedRecord {
  task_id: string;
  queue: string;
  priority: number;
  eta: string | null;
  traceparent?: string | null;
  state: string;
  current: number;
  total: number;
  status: string;
  result: unknown;
  error: string | null;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
}

const TERMINAL = ['SUCCESS', 'FAILURE', 'REVOKED'];

export type GatewayClient = ReturnType<typeof gatewayClient>;

export function gatewayClient(baseUrl: string, headers: Record<string, string> = {}) {
  const client = {
    async execute(worker: 'node' | 'r', body: unknown): Promise<{ status: number; taskId?: string; body: unknown }> {
      const response = await fetch(`${baseUrl}/${worker}/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const parsed = (await response.json()) as { task_id?: string };
      return { status: response.status, taskId: parsed.task_id, body: parsed };
    },

    async collect(worker: 'node' | 'r', taskId: string): Promise<CollectedRecord> {
      const response = await fetch(`${baseUrl}/${worker}/collect?task_id=${taskId}`, { headers });
      if (response.status !== 200) throw new Error(`collect ${taskId}: HTTP ${response.status}`);
      return (await response.json()) as CollectedRecord;
    },

    /** Polls collect until the task is terminal; returns every distinct (state, current) snapshot seen. */
    async pollUntilDone(worker: 'node' | 'r', taskId: string, timeoutMs = 20_000): Promise<CollectedRecord[]> {
      const seen: CollectedRecord[] = [];
      await waitFor(
        async () => {
          const record = await client.collect(worker, taskId);
          const last = seen.at(-1);
          if (!last || last.state !== record.state || last.current !== record.current) seen.push(record);
          return TERMINAL.includes(record.state);
        },
        { timeoutMs, intervalMs: 30, what: `${worker} task ${taskId} to finish` },
      );
      return seen;
    },

    /** The seed's caller: execute (expecting 202 created), then poll collect until done. */
    async runToCompletion(worker: 'node' | 'r', body: unknown, timeoutMs?: number): Promise<CollectedRecord[]> {
      const accepted = await client.execute(worker, body);
      if (accepted.status !== 202 || (accepted.body as { status?: string }).status !== 'created') {
        throw new Error(`execute answered ${accepted.status} ${JSON.stringify(accepted.body)}`);
      }
      return client.pollUntilDone(worker, accepted.taskId!, timeoutMs);
    },
  };
  return client;
}
