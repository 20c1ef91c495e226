/**
 * @switchyard/client against a real stack: a gateway (API keys on), Node workers and the R service
 * from their sources, a real redis-server. Waiting goes through the gateway's event streams; one test
 * stops the gateway mid-wait and starts another on the same port, so the client must reconnect with
 * Last-Event-ID and still see the task end.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  GatewayError,
  GatewayUnreachableError,
  SwitchyardClient,
  TaskFailedError,
  WaitTimeoutError,
  type LinearFit,
  type SummaryStats,
  type TaskRecord,
} from '../src/index.js';
import { freePort } from '../../tests/support/redis-server.js';
import { startService } from '../../tests/support/services.js';
import { useStack } from '../../tests/support/stack.js';
import { waitFor } from '../../tests/support/wait.js';

const API_KEY = 'client-e2e-key-0123456789abcdef';

const ctx = useStack({
  label: 'client',
  nodeWorkers: 1,
  withR: true,
  env: { LONG_TASK_STEP_MS: '100', WORKER_CONCURRENCY: '4', CPU_THREADS: '1', API_KEYS: API_KEY },
});

const client = () => new SwitchyardClient({ url: ctx.stack.baseUrl, apiKey: API_KEY });

describe('SwitchyardClient against a real gateway', () => {
  it("run('node', 'add', [4, 6]) resolves 10, typed number", async () => {
    const sum = client().run('node', 'add', [4, 6]);
    expectTypeOf(sum).resolves.toEqualTypeOf<number>();
    expect(await sum).toBe(10);
    expect(await client().run('node', 'factorial', [20])).toBe('2432902008176640000');
  });

  it('runs R tasks too, with their results typed from the registry', async () => {
    const stats = await client().run('r', 'summary_stats', [[1, 2, 3, 4, 100]]);
    expectTypeOf(stats).toEqualTypeOf<SummaryStats>();
    expect(stats).toMatchObject({ n: 5, mean: 22, min: 1, max: 100 });
    const fit = await client().run('r', 'lm_fit', [[3, 5, 7, 9], { x: [1, 2, 3, 4] }]);
    expectTypeOf(fit).toEqualTypeOf<LinearFit>();
    expect(fit.coefficients.x).toBeCloseTo(2);
    expect(fit.n).toBe(4);
  });

  it('wait reports every progress step from the events and resolves with the final record', async () => {
    const c = client();
    const id = await c.submit('node', 'long_task', [5]);
    const seen: TaskRecord[] = [];
    const final = await c.wait(id, { onProgress: (record) => seen.push(record) });
    expect(final).toMatchObject({ task_id: id, state: 'SUCCESS', result: 5, current: 5, total: 5 });
    // Every change after the current record is an event: from the first step seen, none skipped or repeated
    // (steps taken between submit and the stream opening are summed up in the first record).
    const progress = seen.filter((r) => r.state === 'PROGRESS').map((r) => r.current);
    const first = progress[0] ?? 1;
    expect(progress).toEqual(Array.from({ length: 6 - first }, (_, i) => first + i));
    expect(seen.at(-1)?.state).toBe('SUCCESS');
    // get finds the record whatever its kind.
    expect(await c.get(id)).toMatchObject({ task_id: id, worker: 'node', state: 'SUCCESS' });
  });

  it("submit passes the caller's traceparent and an idempotency key on", async () => {
    const c = client();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const key = `client-${randomUUID()}`;
    const id = await c.submit('node', 'add', [1, 1], { traceparent, idempotencyKey: key });
    expect(await c.submit('node', 'add', [1, 1], { idempotencyKey: key })).toBe(id);
    expect((await c.wait(id)).traceparent).toBe(traceparent);
  });

  it('a failing task makes run throw a TaskFailedError carrying the record', async () => {
    const failure = client().run('node', 'long_task', [30], { time_limit_ms: 300, max_attempts: 1 });
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    const { record } = error as TaskFailedError;
    expect(record).toMatchObject({ state: 'FAILURE', task: 'long_task', attempts: 1 });
    expect(record.error).toMatch(/time limit/i);
    expect((error as TaskFailedError).message).toContain(record.task_id);
  });

  it('cancel revokes a waiting task at once and stops a running one, which wait then sees', async () => {
    const c = client();
    const later = await c.submit('node', 'add', [1, 2], { countdown: 60 });
    const revoked = await c.cancel(later);
    expect(revoked.outcome).toBe('revoked');
    expect(revoked.outcome === 'revoked' && revoked.record.state).toBe('REVOKED');

    const running = await c.submit('node', 'long_task', [100]);
    for await (const event of c.taskEvents(running)) if (event.state === 'PROGRESS') break;
    expect(await c.cancel(running)).toEqual({ outcome: 'revoking', task_id: running });
    const final = await c.wait(running, { timeoutMs: 15_000 });
    expect(final.state).toBe('REVOKED');
    expect(final.current).toBeLessThan(100);
  });

  it('wait gives up after timeoutMs with a WaitTimeoutError, and an abort signal stops it too', async () => {
    const c = client();
    const id = await c.submit('node', 'long_task', [100]);
    await expect(c.wait(id, { timeoutMs: 300 })).rejects.toBeInstanceOf(WaitTimeoutError);
    const controller = new AbortController();
    const waiting = c.wait(id, { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await expect(waiting).rejects.toThrow('caller gave up');
    await c.cancel(id);
  });

  it('events() streams the changes of a queue live, ending when the loop stops', async () => {
    const c = client();
    const ids = new Set<string>();
    const seen: TaskRecord[] = [];
    const finished = () => [...ids].filter((id) => seen.some((r) => r.task_id === id && r.state === 'SUCCESS'));
    const watching = (async () => {
      for await (const event of c.events({ kind: 'node', queue: 'default' })) {
        seen.push(event.record);
        if (ids.size === 2 && finished().length === 2) break;
      }
    })();
    // Tasks submitted once the stream is open are all seen (an earlier start could miss their first events).
    await new Promise((resolve) => setTimeout(resolve, 500));
    ids.add(await c.submit('node', 'long_task', [3]));
    ids.add(await c.submit('node', 'add', [2, 2]));
    await watching;
    expect(new Set(seen.map((r) => `${r.worker}/${r.queue}`))).toEqual(new Set(['node/default']));
    const states = (id: string) => seen.filter((r) => r.task_id === id).map((r) => r.state);
    for (const id of ids) expect(states(id).at(-1)).toBe('SUCCESS');
    expect(states([...ids][0]!)).toContain('PROGRESS');
  });

  it('workflow submits a Node → R → Node chain and waitWorkflow follows it to its result', async () => {
    const c = client();
    const id = await c.workflow({
      chain: [
        { worker: 'node', task: 'make_dataset', args: [20, 2, 1, 0.1] },
        { worker: 'r', task: 'lm_fit' },
        { worker: 'node', task: 'fit_report' },
      ],
    });
    const dones: number[] = [];
    const steps: string[] = [];
    const final = await c.waitWorkflow(id, {
      onProgress: (workflow) => dones.push(workflow.done),
      onStep: (record) => steps.push(`${record.task}:${record.state}`),
      timeoutMs: 30_000,
    });
    expect(final).toMatchObject({ workflow_id: id, state: 'SUCCESS', done: 3, total: 3 });
    expect(final.result).toMatch(/^y = 2(\.\d+)?·x/);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(steps).toContain('lm_fit:SUCCESS');
    expect((await c.getWorkflow(id)).state).toBe('SUCCESS');
  });

  it("the gateway's errors arrive as GatewayError with status, code and field", async () => {
    const c = client();
    const unknownTask = await c.submitUntyped('node', 'no_such_task', []).catch((e: unknown) => e);
    expect(unknownTask).toBeInstanceOf(GatewayError);
    expect(unknownTask).toMatchObject({ status: 422, code: 'validation_failed', field: 'task' });
    expect((unknownTask as GatewayError).fields[0]?.message).toMatch(/must be one of: .*add/);

    const badArgs = await c.submitUntyped('node', 'add', ['x', 1]).catch((e: unknown) => e);
    expect(badArgs).toMatchObject({ status: 422, code: 'validation_failed', field: 'args.0' });

    await expect(c.get(randomUUID())).rejects.toMatchObject({ status: 404, code: 'task_not_found' });

    const keyless = new SwitchyardClient({ url: ctx.stack.baseUrl });
    await expect(keyless.queues()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(keyless.wait(randomUUID())).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('a gateway that is not there is a GatewayUnreachableError naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const nobody = new SwitchyardClient({ url, apiKey: API_KEY });
    const error = await nobody.run('node', 'add', [1, 2]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnreachableError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach the gateway at ${url}: .*ECONNREFUSED`));
  });

  it('wait survives the gateway restarting mid-task: it reconnects with Last-Event-ID and sees the end', async () => {
    const c = client();
    const id = await c.submit('node', 'long_task', [40]);
    const seen: TaskRecord[] = [];
    const waiting = c.wait(id, { onProgress: (record) => seen.push(record), timeoutMs: 40_000 });
    await waitFor(() => seen.some((r) => r.state === 'PROGRESS'), { what: 'progress before the restart' });

    const gateway = ctx.stack.services.find((s) => s.process.spawnargs.includes('gateway/src/main.ts'));
    expect(gateway).toBeDefined();
    await gateway!.stop('SIGKILL');
    const port = new URL(ctx.stack.baseUrl).port;
    const replacement = startService('gateway', {
      ...ctx.stack.env,
      HOST: '127.0.0.1',
      PORT: port,
      R_SERVICE_URL: ctx.stack.rServiceUrl,
    });
    ctx.stack.services.splice(ctx.stack.services.indexOf(gateway!), 1, replacement);
    await waitFor(async () => (await fetch(`${ctx.stack.baseUrl}/readyz`).catch(() => null))?.ok, {
      timeoutMs: 20_000,
      what: 'the new gateway',
    });

    const final = await waiting;
    expect(final).toMatchObject({ task_id: id, state: 'SUCCESS', result: 40 });
    // The steps made while no gateway was up were replayed after the reconnect: none missing, none twice.
    const progress = seen.filter((r) => r.state === 'PROGRESS').map((r) => r.current);
    const first = progress[0] ?? 1;
    expect(progress).toEqual(Array.from({ length: 41 - first }, (_, i) => first + i));
    expect(seen.filter((r) => r.state === 'SUCCESS')).toHaveLength(1);
  }, 60_000);
});
