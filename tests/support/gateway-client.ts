/** A caller of a running gateway over HTTP, the way a user's code would call it. */
export interface CollectedRecord {
  task_id: string;
  state: string;
  current: number;
  total: number;
  status: string;
  result: unknown;
  error: string | null;
  attempts: number;
}

export function gatewayClient(baseUrl: string, headers: Record<string, string> = {}) {
  return {
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
  };
}
