/**
 * R_SERVICE_TOKEN on the real R service: without the token a task is refused 401 (and nothing is
 * written), with it 202; /health stays open. A service asked to listen beyond loopback without a
 * token refuses to start. Every wait is bounded.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startRWorker, useRWorkerService } from '../support/r-worker.js';

const token = `tok-${randomUUID()}-${randomUUID()}`;
const service = useRWorkerService({ R_SERVICE_TOKEN: token, LONG_TASK_STEP_MS: '10' });
const { postTask, submit, waitForState, record } = service;

describe('the R service token', () => {
  it('refuses a task without the token, or with a wrong one: 401 unauthorized, nothing written, token never echoed', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${token.slice(0, -1)}x` },
      { authorization: token },
    ];
    for (const headers of attempts) {
      const taskId = randomUUID();
      const response = await postTask({ task_id: taskId, task: 'long_task', args: [1] }, service.worker, headers);
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'unauthorized' } });
      expect(text).not.toContain(token);
      expect(await record(taskId)).toBeNull();
    }
    expect(service.worker.output()).not.toContain(token);
  });

  it('accepts a task with Authorization: Bearer <token>, and keeps /health open', async () => {
    const taskId = await submit('long_task', [2], { headers: { authorization: `Bearer ${token}` } });
    expect((await waitForState(taskId, ['SUCCESS', 'FAILURE'])).state).toBe('SUCCESS');
    expect((await fetch(`${service.worker.url}/health`)).status).toBe(200);
  });

  it('refuses to start on 0.0.0.0 without a token: exit 2 and a clear message', async () => {
    const refused = await startRWorker({ ...service.env, HOST: '0.0.0.0', R_SERVICE_TOKEN: '' }, { waitForHealth: false });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain('HOST is 0.0.0.0, beyond loopback, and R_SERVICE_TOKEN is not set');
  });
});
