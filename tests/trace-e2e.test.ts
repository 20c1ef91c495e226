/**
 * W3C trace context across gateway, queue and worker: the traceparent a caller sends with a task is
 * in its record, and the worker that runs it (Node or R) logs the task's lines with its trace id; a
 * task sent without one starts a trace of its own.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';

const ctx = useStack({ label: 'trace', withR: true, env: { LONG_TASK_STEP_MS: '50' } });

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

async function submit(kind: 'node' | 'r', body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${ctx.stack.baseUrl}/${kind}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  const { task_id: taskId } = (await response.json()) as { task_id: string };
  return { taskId, traceparent: response.headers.get('traceparent') };
}

/** The JSON log lines of every process that mention the task. */
function linesAbout(taskId: string): Record<string, unknown>[] {
  return ctx.stack.services
    .flatMap((service) => service.output().split('\n'))
    .filter((line) => line.includes(taskId) && line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('traceparent', () => {
  for (const kind of ['node', 'r'] as const) {
    it(`keeps the caller's traceparent in a ${kind} task's record and logs its lines with the trace id`, async () => {
      const { taskId } = await submit(kind, { task: 'long_task', args: [2] }, { traceparent: TRACEPARENT });
      const done = await ctx.stack.client.pollUntilDone(kind, taskId);
      expect(done.at(-1)).toMatchObject({ state: 'SUCCESS', traceparent: TRACEPARENT });
      const started = linesAbout(taskId).find((line) => line.msg === 'task started');
      expect(started).toMatchObject({ task_id: taskId, trace_id: TRACE_ID });
    });
  }

  it('starts a trace for a task sent without one (or with an invalid one), and says which in the answer', async () => {
    const attempts: Record<string, string>[] = [{}, { traceparent: 'not-a-traceparent' }];
    for (const headers of attempts) {
      const { taskId, traceparent } = await submit('node', { task: 'add', args: [1, 2] }, headers);
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const record = (await ctx.stack.client.pollUntilDone('node', taskId)).at(-1);
      expect(record?.traceparent).toBe(traceparent);
    }
  });
});
