/**
 * Live events end to end, through real processes (gateway, Node worker, R service, Redis): a task's
 * events from its current record to its terminal state, a late client, a reconnect with
 * Last-Event-ID, a queue's events, a workflow's, and what a client without a key or with a bad id gets.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { openEvents, type ServerEvent } from './support/sse.js';

const API_KEY = 'events-test-key-0123456789abcdef';
const ctx = useStack({
  label: 'events',
  withR: true,
  env: { LONG_TASK_STEP_MS: '150', API_KEYS: API_KEY },
});
const auth = { 'x-api-key': API_KEY };

async function submit(kind: 'node' | 'r', body: unknown): Promise<string> {
  const response = await fetch(`${ctx.stack.baseUrl}/${kind}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { task_id: string }).task_id;
}

const states = (events: ServerEvent[]) => events.map((e) => e.event);
const progressOf = (events: ServerEvent[]) =>
  events.filter((e) => e.event === 'PROGRESS').map((e) => (e.data as { current: number }).current);

describe('GET /tasks/{id}/events', () => {
  it('streams a Node long_task from its current record through every step to SUCCESS, then ends', async () => {
    const taskId = await submit('node', { task: 'long_task', args: [4] });
    const events = await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events`, auth);
    expect(events.status).toBe(200);
    expect(events.contentType).toMatch(/^text\/event-stream/);
    const all = await events.rest();
    expect(['PENDING', 'STARTED', 'PROGRESS']).toContain(all[0]?.event);
    expect(all.at(-1)?.event).toBe('SUCCESS');
    expect(all.at(-1)?.data).toMatchObject({ task_id: taskId, state: 'SUCCESS', current: 4, total: 4 });
    expect(progressOf(all)).toEqual([...new Set(progressOf(all))].sort()); // never backwards, no repeats
    expect(progressOf(all).at(-1)).toBe(4);
    expect(all.every((e) => /^\d+-\d+$/.test(e.id))).toBe(true);
  });

  it('streams an R task the same way: the R service writes its records through the same scripts', async () => {
    const taskId = await submit('r', { task: 'long_task', args: [3] });
    const all = await (await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events`, auth)).rest(60_000);
    expect(all.at(-1)?.data).toMatchObject({ worker: 'r', state: 'SUCCESS', current: 3 });
    expect(progressOf(all).at(-1)).toBe(3);
  });

  it('gives a client that connects after the end the terminal record at once, and ends', async () => {
    const taskId = await submit('node', { task: 'add', args: [4, 6] });
    await (await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events`, auth)).rest();
    const late = await (await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events`, auth)).rest();
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ event: 'SUCCESS', data: { result: 10 } });
  });

  it('replays what came after Last-Event-ID on a reconnect: no step is missed, none repeated', async () => {
    const taskId = await submit('node', { task: 'long_task', args: [6] });
    const first = await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events`, auth);
    let seen: ServerEvent | null = null;
    while (seen === null || seen.event !== 'PROGRESS') seen = await first.next();
    first.close(); // the connection drops mid-task
    await new Promise((resolve) => setTimeout(resolve, 500)); // steps go on meanwhile
    const resumed = await (
      await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events`, { ...auth, 'last-event-id': seen.id })
    ).rest();
    const before = (seen.data as { current: number }).current;
    const after = progressOf(resumed);
    expect(after[0]).toBe(before + 1);
    expect(after).toEqual(Array.from({ length: 6 - before }, (_, i) => before + 1 + i));
    expect(resumed.at(-1)?.event).toBe('SUCCESS');
  });

  it('answers 404 for an unknown task and 422 for an id that is not one, as JSON', async () => {
    const unknown = await fetch(`${ctx.stack.baseUrl}/tasks/7d1c8a5e-2f43-4c1b-9a57-0d0c2b6f3e11/events`, {
      headers: auth,
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'task_not_found' } });
    const bad = await fetch(`${ctx.stack.baseUrl}/tasks/not-an-id/events`, { headers: auth });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain('id');
  });

  it('needs the API key, which a browser EventSource may give as ?api_key=', async () => {
    const taskId = await submit('node', { task: 'add', args: [1, 1] });
    expect((await fetch(`${ctx.stack.baseUrl}/tasks/${taskId}/events`)).status).toBe(401);
    const viaQuery = await (await openEvents(`${ctx.stack.baseUrl}/tasks/${taskId}/events?api_key=${API_KEY}`)).rest();
    expect(viaQuery.at(-1)?.event).toBe('SUCCESS');
    // only the event streams take a key in the URL
    expect((await fetch(`${ctx.stack.baseUrl}/tasks/${taskId}?api_key=${API_KEY}`)).status).toBe(401);
  });
});

describe('GET /events', () => {
  it("streams every task change of a queue, each task's to its end", async () => {
    const events = await openEvents(`${ctx.stack.baseUrl}/events?kind=node&queue=default`, auth);
    const ids = [
      await submit('node', { task: 'add', args: [1, 2] }),
      await submit('node', { task: 'add', args: [3, 4] }),
    ];
    const ended = new Set<string>();
    while (ended.size < 2) {
      const event = await events.next();
      const data = event?.data as { task_id: string; state: string } | undefined;
      if (data && ids.includes(data.task_id) && data.state === 'SUCCESS') ended.add(data.task_id);
    }
    events.close();
    expect([...ended].sort()).toEqual([...ids].sort());
  });

  it('answers 422 naming the field for a bad kind', async () => {
    const response = await fetch(`${ctx.stack.baseUrl}/events?kind=python`, { headers: auth });
    expect(response.status).toBe(422);
    expect(JSON.stringify(await response.json())).toContain('kind');
  });
});

describe('GET /workflows/{id}/events', () => {
  it("streams a Node → R chain: its view at once, each step's events, and its end", async () => {
    const response = await fetch(`${ctx.stack.baseUrl}/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({
        chain: [
          { worker: 'node', task: 'add', args: [2, 3] },
          { worker: 'r', task: 'long_task', args: [], pass_result: true },
        ],
      }),
    });
    expect(response.status).toBe(202);
    const { workflow_id: workflowId } = (await response.json()) as { workflow_id: string };
    const all = await (await openEvents(`${ctx.stack.baseUrl}/workflows/${workflowId}/events`, auth)).rest(90_000);
    expect(all[0]?.event).toBe('workflow');
    const last = all.at(-1);
    expect(last?.event).toBe('workflow');
    expect(last?.data).toMatchObject({ workflow_id: workflowId, state: 'SUCCESS', done: 2, total: 2 });
    expect((all[0]?.data as { steps: { task: string }[] }).steps.map((s) => s.task)).toEqual(['add', 'long_task']);
    // the R step (long_task(5), 5 from add) runs while the client watches: its progress arrives as step events
    const rSteps = all.filter((e) => e.event !== 'workflow' && (e.data as { worker: string }).worker === 'r');
    expect(progressOf(rSteps).at(-1)).toBe(5);
    expect(states(rSteps).at(-1)).toBe('SUCCESS');
  });
});

describe('GET /tasks lists', () => {
  it('lists the running tasks and the recent failures', async () => {
    const running = await submit('node', { task: 'long_task', args: [20] });
    const events = await openEvents(`${ctx.stack.baseUrl}/tasks/${running}/events`, auth);
    while ((await events.next())?.event !== 'PROGRESS');
    const list = (await (await fetch(`${ctx.stack.baseUrl}/tasks/running?kind=node`, { headers: auth })).json()) as {
      tasks: { task_id: string }[];
    };
    expect(list.tasks.map((t) => t.task_id)).toContain(running);
    await fetch(`${ctx.stack.baseUrl}/node/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ task_id: running }),
    });
    expect((await events.rest()).at(-1)?.event).toBe('REVOKED');
    const recent = (await (
      await fetch(`${ctx.stack.baseUrl}/tasks/recent?state=REVOKED`, { headers: auth })
    ).json()) as { tasks: { task_id: string }[] };
    expect(recent.tasks[0]?.task_id).toBe(running);
  });
});
